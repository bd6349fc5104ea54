# The readygate image from a binary built on the host (no registry needed): the build context is
# the directory that holds the static binary.
#
#   cargo build --release --target x86_64-unknown-linux-musl
#   docker build -f docker/prebuilt.Dockerfile -t readygate target/x86_64-unknown-linux-musl/release
FROM scratch
COPY readygate /readygate
ENTRYPOINT ["/readygate"]
