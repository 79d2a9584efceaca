#!/usr/bin/env bash
# bench-export.sh: 1,000,000-row exports through the real parley binary.
# For each report and format it starts `parley serve` afresh on a seeded
# database, reads its idle RSS, downloads the export with curl, and
# reports the first byte's time, rows a second and the peak RSS above
# idle (VmHWM - VmRSS at idle, /proc/PID/status). One JSON line each, and
# a last line with all of them.
#
#   scripts/bench.sh outbound      # seeds 1M sends, then runs this
#   DBURL=postgres://…/db TOKEN=prl_… scripts/bench-export.sh
#
# Environment:
#   DBURL    a seeded database (required; scripts/bench.sh outbound seeds
#            one with 1M sends and makes a token for its account 1)
#   TOKEN    an admin token of that account (required)
#   REPORTS  exports to measure (default "outbound_audit messages")
#   FORMATS  formats (default "csv xlsx json")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPORTS=${REPORTS:-outbound_audit messages}
FORMATS=${FORMATS:-csv xlsx json}
TMP=$(mktemp -d /tmp/bench-export.XXXXXX)
parley_pid=
cleanup() {
	local rc=$?
	set +e
	[ -n "$parley_pid" ] && kill "$parley_pid" 2>/dev/null && wait "$parley_pid" 2>/dev/null
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

go build -o bin/parley ./cmd/parley
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

: "${DBURL:?DBURL: a seeded database (see scripts/bench.sh outbound)}"
: "${TOKEN:?TOKEN: an admin token of the seeded account}"

rss_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$parley_pid/status"; } # kB
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

serve() {
	local port=$1
	(cd "$TMP" && PARLEY_DATABASE_URL=$DBURL PARLEY_ADDR=127.0.0.1:$port PARLEY_PUBLIC_URL=http://127.0.0.1:$port \
		PARLEY_LOG_LEVEL=warn PARLEY_LOG_FORMAT=json exec "$ROOT/bin/parley" serve) >>"$TMP/parley.log" 2>&1 &
	parley_pid=$!
	for _ in $(seq 1 200); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$parley_pid" 2>/dev/null || { cat "$TMP/parley.log" >&2; exit 1; }
		sleep 0.1
	done
	log "parley did not get ready"
	exit 1
}

# The range covering everything seeded: the last two years up to tomorrow.
to=$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)
from=$(date -u -d '729 days ago' +%Y-%m-%dT00:00:00Z)
all=$TMP/all
: >"$all"
for report in $REPORTS; do
	for format in $FORMATS; do
		port=$(freeport)
		serve "$port"
		sleep 1 # let start-up work settle before idle is read
		idle=$(rss_of VmRSS)
		out=$(curl -sS -o "$TMP/export" -H "Authorization: Bearer $TOKEN" \
			-w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}' \
			"http://127.0.0.1:$port/v1/exports/$report?format=$format&from=$from&to=$to")
		read -r code first total bytes <<<"$out"
		hwm=$(rss_of VmHWM)
		kill "$parley_pid" && wait "$parley_pid" 2>/dev/null || true
		parley_pid=
		if [ "$code" != 200 ]; then
			log "$report $format: HTTP $code: $(head -c 300 "$TMP/export")"
			exit 1
		fi
		rows=$(python3 scripts/count-export-rows.py "$format" "$TMP/export")
		line=$(printf '{"kind":"export","rev":"%s","report":"%s","format":"%s","rows":%d,"bytes":%d,"first_byte_s":%.3f,"total_s":%.2f,"rows_per_s":%.0f,"idle_rss_mb":%s,"peak_over_idle_mb":%s}' \
			"$rev" "$report" "$format" "$rows" "$bytes" "$first" "$total" "$(awk -v r="$rows" -v t="$total" 'BEGIN { print r / t }')" \
			"$(mb "$idle")" "$(mb $((hwm - idle)))")
		echo "$line"
		echo "$line" >>"$all"
	done
done
printf '{"kind":"exports","rev":"%s","runs":[%s]}\n' "$rev" "$(paste -sd, "$all")"
