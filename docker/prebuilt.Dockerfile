# The readygate image from a binary built on the host (no registry needed): the build context is
# a directory that holds the static binary alone. docker/image.sh builds the binary and this image
# and loads it as readygate:latest.
FROM scratch
COPY readygate /readygate
ENTRYPOINT ["/readygate"]
