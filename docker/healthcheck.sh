#!/bin/bash
# SPDX-License-Identifier: MIT
# Container health probe: GET /health on the server's own port, 0 when it
# answers 200. Uses bash's /dev/tcp so the image needs no curl/wget.
# Reads the same GREENTRACK_HOST/GREENTRACK_PORT as the server.
host=${GREENTRACK_HOST:-127.0.0.1}
case $host in
  0.0.0.0 | '' ) host=127.0.0.1 ;;
  :: | '[::]' ) host=::1 ;;
  \[*\] ) host=${host#[}; host=${host%]} ;;
esac
port=${GREENTRACK_PORT:-5000}
exec 3<>"/dev/tcp/$host/$port" || exit 1
# With GREENTRACK_TLS_CERT the port speaks HTTPS, which bash cannot: a
# port that accepts the connection is the check then.
if [ -n "${GREENTRACK_TLS_CERT:-}" ]; then
  exit 0
fi
printf 'GET /health HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
IFS= read -r -t 4 status <&3 || exit 1
case $status in
  "HTTP/1."[01]" 200 "*) exit 0 ;;
  *) echo "unhealthy: $status" >&2; exit 1 ;;
esac
