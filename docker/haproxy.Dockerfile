# SPDX-License-Identifier: MIT
# haproxy from Debian 12's own package, in its own small image, as the load
# balancer of docker/compose.postgres.yaml (configuration: docker/haproxy.cfg).
#   podman build --format docker -f docker/haproxy.Dockerfile -t greentrack-haproxy .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY docker/haproxy.cfg /etc/haproxy/haproxy.cfg
COPY docker/haproxy-healthcheck.sh /usr/local/bin/haproxy-healthcheck
RUN chmod 0755 /usr/local/bin/haproxy-healthcheck \
 && haproxy -c -f /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 5000
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/haproxy-healthcheck"]
ENTRYPOINT ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
