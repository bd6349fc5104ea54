# PostgreSQL and Redis images with readygate added, so `readygate --check` can be their
# healthcheck (the official images define none). Built from compose.yaml with BASE set.
ARG READYGATE_IMAGE=readygate:latest
ARG BASE=postgres:16
FROM ${READYGATE_IMAGE} AS readygate
FROM ${BASE}
COPY --from=readygate /readygate /usr/local/bin/readygate
