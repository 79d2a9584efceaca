#!/usr/bin/env bash
# make bench: a short run of every measurement, each ending in one JSON
# line, all of them repeated at the end. About three minutes on 2 cores.
#
#   ingest    parley bench, closed loop, on SQLite and on PostgreSQL, with
#             the raw ingest ceiling at the same concurrency and the ratio;
#             on PostgreSQL also the database's floor (pgbench running the
#             least SQL a text needs, scripts/ingest-floor.sh) and Parley's
#             ratio to it; then an open loop at half the closed loop's rate
#             (p99 there)
#   carriers  parley bench --carrier X for each carrier, closed loop with
#             the ceiling, on PostgreSQL (SQLite without it): each
#             carrier's ratio beside Twilio's, in one run, what its
#             webhook authentication and parsing cost
#   inbox     dev seed (20k conversations, 200k messages) + dev listbench
#   campaign  scripts/campaign-1m.sh at 50,000 recipients, 10 s of sending
#   dispatch  BenchmarkCampaignDispatch: DISPATCH_TEXTS (default 10,000)
#             texts in PARLEY_BENCH_CAMPAIGNS campaigns (default 4, one
#             per number, each at 1,000/s as before the cap was raised)
#             through the real program to the fake carrier,
#             beside the fake carrier's own ceiling measured in the same
#             run, the ratio, and the CPU a text
#             cost this process (Parley and the fake carrier) and the
#             local PostgreSQL server
#   rate      BenchmarkCampaignRateAccuracy: campaigns at 50/s and 500/s
#             for RATE_SECONDS (default 20), the rate the carrier saw as a
#             share of the one asked (target within 2%) and the most texts
#             in any one second
#   outbound  the outbound report over 1M sends / 300k conversations on
#             PostgreSQL and 100k / 30k on SQLite (summary and audit page,
#             every filter), then 1M-row exports of it through the binary
#             in CSV, XLSX and JSON (scripts/bench-export.sh)
#
# Arguments choose the parts (default: all). Longer runs:
# BENCH_SECONDS (default 8) per ingest phase, BENCH_RUNS (default 1)
# repeats of each ingest run, e.g. the long ingest runs of
# docs/PERFORMANCE.md:
#   BENCH_SECONDS=60 BENCH_RUNS=3 scripts/bench.sh ingest
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${BENCH_SECONDS:-8}
RUNS=${BENCH_RUNS:-1}
CLIENTS=${BENCH_CLIENTS:-16}
parts=" ${*:-ingest carriers inbox campaign dispatch rate outbound} "
want() { [[ $parts == *" $1 "* ]]; }
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
scripts/ensure-postgres.sh
go build -o bin/parley ./cmd/parley
work=$(mktemp -d)
lines=$work/lines
pgdbs=()
cleanup() {
	for db in "${pgdbs[@]}"; do psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
# pgdb creates a fresh PostgreSQL database and sets url to it. Not a
# $(...) function: the name must reach pgdbs in this shell, for cleanup.
pgdb() {
	local name="parley_bench_$1_$$"
	psql "$PGURL/postgres" -qc "CREATE DATABASE $name" >/dev/null
	pgdbs+=("$name")
	url="$PGURL/$name?sslmode=disable"
}
have_pg=1
pg_isready -q -h 127.0.0.1 -p 5432 || have_pg=0
# keep runs the JSON line of a command's output. (tee -a: a log file
# behind stderr is reopened by name, and without -a truncated.)
keep() { tee -a /dev/stderr | grep '^{' | tail -1 >>"$lines"; }
# last NAME: the number NAME holds in the last JSON line kept.
last() { tail -1 "$lines" | sed -nE "s/.*\"$1\":([0-9.]+).*/\1/p"; }

for db in sqlite postgres; do
	want ingest || break
	if [ "$db" = postgres ] && [ $have_pg = 0 ]; then
		echo "bench: PostgreSQL is not reachable; its runs are skipped" >&2
		continue
	fi
	for run in $(seq "$RUNS"); do
		# A fresh database each run: runs do not inherit each other's rows.
		if [ "$db" = sqlite ]; then url="sqlite://$work/ingest-$run.db"; else pgdb "ingest_$run"; fi
		echo "== ingest, $db, run $run of $RUNS, closed loop, $CLIENTS clients" >&2
		PARLEY_DATABASE_URL=$url bin/parley bench --mode closed --clients "$CLIENTS" --duration "${SECONDS_PER}s" --warmup 2s 2>&1 | keep
		rps=$(last rps)
		cpu=$(last cpu_ms)
		pgcpu=$(last postgres_cpu_ms)
		if [ "$db" = postgres ]; then
			# The database's floor in the same run: the least SQL a text
			# needs, by pgbench on its own schema (scripts/ingest-floor.sh).
			echo "== ingest floor, postgres, run $run of $RUNS, pgbench, $CLIENTS clients" >&2
			CLIENTS=$CLIENTS SECONDS_PER=$SECONDS_PER PGURL=$PGURL scripts/ingest-floor.sh 2>&1 | keep
			tps=$(last tps)
			fpg=$(last postgres_cpu_ms)
			fbench=$(last pgbench_cpu_ms)
			# Beside the rates, the CPU each side cost the machine a
			# text: the database's, and the rest (Parley with its load
			# generator; pgbench).
			awk -v r="$rps" -v f="$tps" -v c="${cpu:-0}" -v p="${pgcpu:-0}" -v fp="${fpg:-0}" -v fb="${fbench:-0}" 'BEGIN {
				printf "{\"kind\":\"ingest_vs_floor\",\"db\":\"postgres\",\"parley_rps\":%s,\"floor_tps\":%s,\"ratio\":%.2f,", r, f, r / f
				printf "\"parley_cpu_ms\":%s,\"parley_postgres_cpu_ms\":%s,\"floor_pgbench_cpu_ms\":%s,\"floor_postgres_cpu_ms\":%s}\n", c, p, fb, fp }' | keep
		fi
		half=$(awk -v r="$rps" 'BEGIN { h = int(r / 2); print (h < 1 ? 1 : h) }')
		echo "== ingest, $db, run $run of $RUNS, open loop at $half/s (half the closed loop's rate)" >&2
		# A 6 s warm-up: the open loop starts a new Parley on the closed
		# loop's rows, whose first seconds (new connections, the recent
		# search index built, the first housekeeping) queue texts for up
		# to 2.5 s; the target is the running server's tail
		# (docs/PERFORMANCE.md, "The open loop's tail was a cold start").
		PARLEY_DATABASE_URL=$url bin/parley bench --mode open --rate "$half" --duration "${SECONDS_PER}s" --warmup 6s --ceiling=false 2>&1 | keep
	done
done

if want carriers; then
	db=postgres
	[ $have_pg = 1 ] || db=sqlite
	twilio_ratio=
	for carrier in twilio telnyx plivo bandwidth vonage bird; do
		if [ $db = sqlite ]; then url="sqlite://$work/carrier-$carrier.db"; else pgdb "carrier_$carrier"; fi
		echo "== ingest through $carrier, $db, closed loop, $CLIENTS clients" >&2
		line=$(PARLEY_DATABASE_URL=$url bin/parley bench --carrier "$carrier" --mode closed --clients "$CLIENTS" \
			--duration "${SECONDS_PER}s" --warmup 2s 2>&1 | tee -a /dev/stderr | grep '^{' | tail -1)
		ratio=$(printf '%s' "$line" | sed -n 's/.*"ratio":\([0-9.]*\).*/\1/p')
		rps=$(printf '%s' "$line" | sed -n 's/.*"rps":\([0-9.]*\).*/\1/p')
		[ "$carrier" = twilio ] && twilio_ratio=$ratio
		awk -v c="$carrier" -v d="$db" -v r="$rps" -v x="$ratio" -v t="$twilio_ratio" 'BEGIN {
			printf "{\"kind\":\"ingest_by_carrier\",\"db\":\"%s\",\"carrier\":\"%s\",\"rps\":%.0f,\"ratio\":%.2f,\"vs_twilio\":%.2f}\n", d, c, r, x, x / t }' | keep
	done
fi

if want inbox && [ $have_pg = 1 ]; then
	pgdb inbox
	echo "== inbox lists, postgres, 20,000 conversations and 200,000 messages" >&2
	PARLEY_DATABASE_URL=$url bin/parley dev seed --conversations 20000 --messages 200000 --agents 20 >/dev/null
	# As autovacuum would soon: the planner and the search's word
	# statistics need the seeded rows analysed.
	psql "${url%%\?*}" -qc "VACUUM ANALYZE" >/dev/null
	PARLEY_DATABASE_URL=$url bin/parley dev listbench --runs 30 --explain=false 2>&1 | keep
fi

for db in sqlite postgres; do
	want campaign || break
	if [ "$db" = postgres ] && [ $have_pg = 0 ]; then continue; fi
	echo "== campaign, $db, 50,000 recipients" >&2
	DB=$db RECIPIENTS=50000 SEND_SECONDS=10 PGURL=$PGURL scripts/campaign-1m.sh 2>&1 | keep
done

if want dispatch; then
	echo "== campaign dispatch, ${DISPATCH_TEXTS:-10000} texts in ${PARLEY_BENCH_CAMPAIGNS:-4} campaigns, beside the fake carrier's ceiling" >&2
	# One line per database: BenchmarkCampaignDispatch/<db>-N texts ns/op
	# then value unit pairs.
	go test ./cmd/parley -run '^$' -bench 'CampaignDispatch' -benchtime "${DISPATCH_TEXTS:-10000}x" -count=1 2>&1 |
		tee -a /dev/stderr | awk -v campaigns="${PARLEY_BENCH_CAMPAIGNS:-4}" '/^BenchmarkCampaignDispatch\// {
			split($1, name, "/"); db = name[2]; sub(/-[0-9]+$/, "", db)
			delete v; v["postgres-cpu-ms/text"] = "null"; v["writer-busy"] = "null"; v["exchange-cpu-ms"] = "null"
			for (i = 5; i < NF; i += 2) v[$(i + 1)] = $i
			printf "{\"kind\":\"campaign_dispatch\",\"db\":\"%s\",\"campaigns\":%s,\"texts\":%s,\"texts_per_s\":%s,\"carrier_texts_per_s\":%s,\"of_carrier\":%s,\"parley_cpu_ms_per_text\":%s,\"postgres_cpu_ms_per_text\":%s,\"exchange_cpu_ms\":%s,\"writer_busy\":%s}\n",
				db, campaigns, $2, v["texts/s"], v["carrier-texts/s"], v["of-carrier"], v["parley+carrier-cpu-ms/text"], v["postgres-cpu-ms/text"],
				v["exchange-cpu-ms"], v["writer-busy"]
		}' >>"$lines"
fi

if want rate; then
	for rate in 50 500; do
		echo "== campaign rate accuracy, ${rate}/s for ${RATE_SECONDS:-20} s" >&2
		PARLEY_BENCH_RATE=$rate PARLEY_BENCH_SECONDS=${RATE_SECONDS:-20} \
			go test ./cmd/parley -run '^$' -bench 'CampaignRateAccuracy' -benchtime 1x -count=1 2>&1 |
			tee -a /dev/stderr | awk -v rate="$rate" -v secs="${RATE_SECONDS:-20}" '/^BenchmarkCampaignRateAccuracy\// {
				split($1, name, "/"); db = name[2]; sub(/-[0-9]+$/, "", db)
				for (i = 5; i < NF; i += 2) v[$(i + 1)] = $i
				printf "{\"kind\":\"campaign_rate\",\"db\":\"%s\",\"rate\":%s,\"seconds\":%s,\"texts_per_s\":%s,\"accuracy\":%.3f,\"max_in_1s\":%s}\n",
					db, rate, secs, v["texts/s"], v["texts/s"] / rate, v["max-texts-in-1s"]
			}' >>"$lines"
	done
fi

if want outbound; then
	echo "== outbound report, sqlite, 100,000 sends" >&2
	PARLEY_OUTBOUND_SCALE_URL="sqlite://$work/outbound.db" PARLEY_OUTBOUND_SCALE=100000/30000 PARLEY_OUTBOUND_RUNS=10 \
		go test ./store -run '^TestOutboundReportScale$' -count=1 -v -timeout 30m 2>&1 | keep
fi
if want outbound && [ $have_pg = 1 ]; then
	pgdb outbound
	echo "== outbound report, postgres, 1,000,000 sends" >&2
	PARLEY_OUTBOUND_SCALE_URL=$url PARLEY_OUTBOUND_RUNS=10 \
		go test ./store -run '^TestOutboundReportScale$' -count=1 -v -timeout 30m 2>&1 | keep
	# An admin token for the seeded account (account and user 1), stored
	# as Parley stores tokens: by the SHA-256 of the secret.
	secret=prl_bench$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	hash=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
	psql "${url%%\?*}" -qc "INSERT INTO api_tokens (account_id, user_id, prefix, token_hash, created_at)
		VALUES (1, 1, 'sha256:${hash:0:8}', '$hash', 0)" -c "VACUUM ANALYZE" >/dev/null
	echo "== exports, postgres, 1,000,000 rows" >&2
	DBURL=$url TOKEN=$secret REPORTS=outbound_audit scripts/bench-export.sh 2>&1 | keep
fi

echo
echo "== JSON lines"
cat "$lines"
