# node:20's stand-in: Debian's nodejs with Debian's webpack (no npm registry is needed).
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends nodejs webpack \
 && rm -rf /var/lib/apt/lists/*
