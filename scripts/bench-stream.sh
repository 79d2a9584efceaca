#!/usr/bin/env bash
# The live-update figures of docs/PERFORMANCE.md, each ending in one JSON
# line (parley bench --streams):
#
#   same     STREAMS (default 1000) streams on the instance texted, while
#            ingest runs at half the closed loop's rate on that database:
#            every inbound text timed to each client from its arrival and
#            from its webhook's answer (its commit). As the admin (each
#            stream is sent every text), or with AGENTS=n as n agents
#            auto-assigned every new conversation (each stream is sent its
#            agent's conversations)
#   second   two instances on one PostgreSQL: texts committed on the
#            first, SECOND_STREAMS (default 100) streams on the second
#
# Each on a fresh database. DB=sqlite|postgres (default postgres) for
# "same"; "second" is PostgreSQL only. BENCH_SECONDS (default 20) per
# measured phase. Arguments choose the parts (default: both).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${BENCH_SECONDS:-20}
STREAMS=${STREAMS:-1000}
SECOND_STREAMS=${SECOND_STREAMS:-100}
AGENTS=${AGENTS:-0}
DB=${DB:-postgres}
parts=" ${*:-same second} "
want() { [[ $parts == *" $1 "* ]]; }
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
scripts/ensure-postgres.sh
go build -o bin/parley ./cmd/parley
work=$(mktemp -d)
pgdbs=()
cleanup() {
	for db in "${pgdbs[@]}"; do psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
fresh() { # sets url to a fresh database of kind $1
	if [ "$1" = sqlite ]; then
		url="sqlite://$work/stream-$RANDOM.db"
	else
		local name="parley_bench_stream_${RANDOM}_$$"
		psql "$PGURL/postgres" -qc "CREATE DATABASE $name" >/dev/null
		pgdbs+=("$name")
		url="$PGURL/$name?sslmode=disable"
	fi
}
# half_rate measures the closed loop's rate on a fresh database of kind $1
# and sets half to half of it.
half_rate() {
	fresh "$1"
	echo "== closed loop on $1, to find half the ingest rate" >&2
	rps=$(PARLEY_DATABASE_URL=$url bin/parley bench --mode closed --clients 16 --duration 8s --warmup 2s --ceiling=false 2>&1 |
		tee -a /dev/stderr | grep '^{' | sed -E 's/.*"rps":([0-9.]+).*/\1/')
	half=$(awk -v r="$rps" 'BEGIN { h = int(r / 2); print (h < 1 ? 1 : h) }')
}
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if want same; then
	half_rate "$DB"
	fresh "$DB"
	echo "== $STREAMS streams on $DB while ingest runs at $half/s" >&2
	PARLEY_DATABASE_URL=$url bin/parley bench --mode open --rate "$half" --duration "${SECONDS_PER}s" --warmup 3s --ceiling=false \
		--streams "$STREAMS" --stream-agents "$AGENTS" 2>&1 | tee -a /dev/stderr | grep '^{'
fi
if want second; then
	half_rate postgres
	fresh postgres
	echo "== two instances on PostgreSQL: texts on the first at $half/s, $SECOND_STREAMS streams on the second" >&2
	PARLEY_DATABASE_URL=$url bin/parley bench --mode open --rate "$half" --duration "${SECONDS_PER}s" --warmup 3s --ceiling=false \
		--streams "$SECOND_STREAMS" --stream-second-instance 2>&1 | tee -a /dev/stderr | grep '^{'
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
