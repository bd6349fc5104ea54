# PostgreSQL, Redis and nginx images with readygate added: `readygate --check` is the databases'
# healthcheck (the official images define none), and nginx runs under `readygate --watch`.
# Built from compose.yaml with BASE set.
ARG READYGATE_IMAGE=readygate:latest
ARG BASE=postgres:16
FROM ${READYGATE_IMAGE} AS readygate
FROM ${BASE}
COPY --from=readygate /readygate /usr/local/bin/readygate
