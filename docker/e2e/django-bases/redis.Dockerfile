# redis:7's stand-in: Debian's redis-server, data in /data.
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
CMD ["redis-server", "--protected-mode", "no"]
