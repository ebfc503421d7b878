# SPDX-License-Identifier: MIT
# PostgreSQL 15 from Debian 12's own package, for docker/compose.postgres.yaml
# (no image from a registry is needed: the base is debian:bookworm-slim).
#   podman build --format docker -f docker/postgres.Dockerfile -t greentrack-postgres .
# On first start with an empty /var/lib/postgresql/data it creates the
# cluster, the role $POSTGRES_USER with password $POSTGRES_PASSWORD
# (required) and the database $POSTGRES_DB owned by it; connections from
# the container network authenticate with scram-sha-256
# (docker/postgres-entrypoint.sh).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN chmod 0755 /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    POSTGRES_USER=greentrack \
    POSTGRES_DB=greentrack
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=5 \
    CMD ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
