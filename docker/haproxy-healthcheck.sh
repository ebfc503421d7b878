#!/bin/bash
# SPDX-License-Identifier: MIT
# haproxy image's health probe: haproxy's own monitor URI on port 5000,
# which answers 200 while at least one greentrack server is up (503 when
# none is), through bash's /dev/tcp.
exec 3<>/dev/tcp/127.0.0.1/5000 || exit 1
printf 'GET /haproxy-health HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 2 status <&3 || exit 1
case $status in
  "HTTP/1."[01]" 200 "*) exit 0 ;;
  *) echo "unhealthy: $status" >&2; exit 1 ;;
esac
