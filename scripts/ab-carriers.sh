#!/usr/bin/env bash
# Each carrier's closed loop against Twilio's, alternating, on a fresh
# PostgreSQL database a run (docs/PERFORMANCE.md "Each carrier's closed
# loop"): ROUNDS (default 3) rounds of every carrier, SECONDS_PER (default
# 10) measured seconds after 2 of warm-up, 16 clients, ceiling on. Prints
# each run's JSON line, then the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER=${SECONDS_PER:-10}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
scripts/ensure-postgres.sh
go build -o bin/parley ./cmd/parley
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq 1 "$ROUNDS"); do
	for carrier in twilio telnyx plivo bandwidth vonage bird; do
		db="parley_ab_carrier_${carrier}_$$"
		psql "$PGURL/postgres" -qc "CREATE DATABASE $db" >/dev/null
		PARLEY_DATABASE_URL="$PGURL/$db?sslmode=disable" bin/parley bench --carrier "$carrier" --mode closed --clients 16 \
			--duration "${SECONDS_PER}s" --warmup 2s 2>/dev/null | grep '^{' | tail -1 | tee -a "$out"
		psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
	done
done
python3 - "$out" <<'PY'
import json, statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line)
    runs[d["carrier"]].append(d)
base = statistics.median(r["ratio"] for r in runs["twilio"])
for carrier, rs in runs.items():
    ratio = statistics.median(r["ratio"] for r in rs)
    print(json.dumps({"kind": "ab_carrier", "carrier": carrier, "median_rps": round(statistics.median(r["rps"] for r in rs)),
                      "median_ratio": round(ratio, 2), "vs_twilio": round(ratio / base, 3)}))
PY
