# python:3.12-slim's stand-in: Debian's Python 3.11 with venv and pip, and, as in the official
# image, `pip install` into the system's Python allowed (Debian refuses it by default, PEP 668).
# The build machine's own certificate authorities (local-ca/, from build.sh) are trusted, so that
# pip reaches PyPI through a TLS-inspecting proxy as the host does (Debian's pip uses the system's
# store).
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV PIP_BREAK_SYSTEM_PACKAGES=1
