# postgres:16's stand-in: Debian's PostgreSQL 15 with the official image's entrypoint behaviour
# (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD(_FILE), a socket-only server for the init, then
# the real one on TCP).
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/lib/postgresql/15 /etc/postgresql/15
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
