#!/usr/bin/env bash
# Makes sure the PostgreSQL the store tests use is up. Tests on a machine
# without PostgreSQL skip loudly; under CI=true they fail instead, so here we
# only try to start a local cluster when one is installed but stopped.
set -u
url_host=127.0.0.1
url_port=5432
if pg_isready -q -h "$url_host" -p "$url_port" 2>/dev/null; then
	exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
	echo "PostgreSQL is down; starting the local cluster" >&2
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
	for _ in $(seq 1 30); do
		pg_isready -q -h "$url_host" -p "$url_port" 2>/dev/null && exit 0
		sleep 1
	done
fi
if [ "${CI:-}" = "true" ]; then
	echo "PostgreSQL is not reachable at $url_host:$url_port and CI=true: the PostgreSQL tests will fail" >&2
else
	echo "################################################################" >&2
	echo "# PostgreSQL is not reachable at $url_host:$url_port:" >&2
	echo "# the PostgreSQL half of the store tests will be SKIPPED." >&2
	echo "################################################################" >&2
fi
exit 0
