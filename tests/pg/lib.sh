# SPDX-License-Identifier: MIT
#
# lib.sh: what tests/pg/cluster.sh and tests/pg/replica.sh share (sourced,
# not run): running a command as the cluster's owner, and a free TCP port.

# Runs "$@" as the cluster's owner: "postgres" as root (initdb refuses
# root), else the calling user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Prints a TCP port free on 127.0.0.1 now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
