#!/usr/bin/env bash
# campaign-1m.sh: a million-recipient campaign through the real parley
# binary and the fake carrier, measuring what issue "campaigns at scale"
# asks: Parley's peak RSS while the campaign runs (target < 150 MB) and the
# time to expand its audience.
#
#   DB=postgres scripts/campaign-1m.sh
#   DB=sqlite RECIPIENTS=20000 SEND_SECONDS=20 scripts/campaign-1m.sh
#
# Environment:
#   DB            postgres (default) or sqlite
#   RECIPIENTS    contacts seeded and targeted (default 1000000)
#   SEND_SECONDS  how long to go on sending once the audience is expanded
#                 (default 300; 0: until the campaign completes)
#   RATE          the campaign's rate_per_second (default 10000, the maximum)
#   EXPAND_TIMEOUT  give up when expansion takes longer (default 3600 s)
#   PGURL         PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   SAMPLES       if set, a file to copy the per-second samples (TSV) to
#   KEEP=1        keep the temporary directory (logs, samples, SQLite file)
#                 and the PostgreSQL database
#   REV           the revision to report (default: git rev-parse HEAD), e.g.
#                 when run from a `git archive` of a commit
#   REPEAT=1      then a second campaign to the same audience (SEND_SECONDS=0):
#                 its texts' rate and CPU as a last JSON line
#
# It builds both binaries, creates a fresh database, seeds it with
# `parley dev seed`, starts the fake carrier and `parley serve` on free
# ports, creates an inbox, a channel and a campaign to every seeded contact
# through the API, starts it, and samples once a second parley's VmRSS and
# VmHWM (/proc/PID/status), the texts the fake carrier accepted
# (GET /fake/count) and the campaign's expand_stage (3: the whole audience
# is in campaign_recipients). At the end it times 200 GETs of the campaign
# (p50, p95) while it sends and once paused, and, on PostgreSQL, the aggregate over its recipients that a
# GET ran before counts were kept in the campaign's row. The last line is
# JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DB=${DB:-postgres}
RECIPIENTS=${RECIPIENTS:-1000000}
SEND_SECONDS=${SEND_SECONDS:-300}
RATE=${RATE:-10000}
EXPAND_TIMEOUT=${EXPAND_TIMEOUT:-3600}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
case $DB in postgres | sqlite) ;; *)
	echo "DB must be postgres or sqlite" >&2
	exit 2
	;;
esac

SID=AC1m000000000000000000000000000000
TOKEN=token1m000000000000000000000000
BUSINESS=+14155550199

TMP=$(mktemp -d /tmp/campaign-1m.XXXXXX)
DBNAME=parley_c1m_$$_$(date +%s)
fake_pid= parley_pid=
cleanup() {
	local rc=$?
	set +e
	[ -n "$parley_pid" ] && kill "$parley_pid" 2>/dev/null && wait "$parley_pid" 2>/dev/null
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	if [ "$DB" = postgres ] && [ "${KEEP:-}" = 1 ]; then
		echo "kept database $DBNAME" >&2
	elif [ "$DB" = postgres ]; then
		psql "$PGURL/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1
	fi
	[ -n "${SAMPLES:-}" ] && [ -f "$TMP/samples.tsv" ] && cp "$TMP/samples.tsv" "$SAMPLES"
	if [ "${KEEP:-}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%(%T)T %s\n' -1 "$*"; }
now() { date +%s.%N; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "building bin/parley and bin/fakecarrier"
go build -o bin/parley ./cmd/parley
go build -o bin/fakecarrier ./cmd/fakecarrier
# The code measured: the commit, and how many non-test Go files the working
# tree changes beside it (others may be editing while this runs).
rev=${REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
dirty=$({ git diff --name-only HEAD -- '*.go' ':!*_test.go'; git ls-files --others --exclude-standard -- '*.go' ':!*_test.go'; } 2>/dev/null | wc -l || true)
log "measuring $rev ($dirty uncommitted non-test Go files)"

if [ "$DB" = postgres ]; then
	psql "$PGURL/postgres?sslmode=disable" -qc "CREATE DATABASE $DBNAME" >/dev/null
	DBURL="$PGURL/$DBNAME?sslmode=disable"
	sql() { psql "$DBURL" -XAtqc "$1"; }
else
	DBURL="sqlite://$TMP/parley.db"
	sql() { sqlite3 -cmd '.timeout 5000' "$TMP/parley.db" "$1"; }
fi
export PARLEY_DATABASE_URL=$DBURL

log "seeding $RECIPIENTS contacts ($DB)"
t0=$(now)
bin/parley dev seed --contacts "$RECIPIENTS" --conversations 0 --messages 0 --agents 0 \
	--contact-type customer >"$TMP/seed.log" 2>&1 || {
	cat "$TMP/seed.log" >&2
	exit 1
}
seed_s=$(echo "$(now) - $t0" | bc)
token=$(sed -nE 's/.*its admin token: (\S+).*/\1/p' "$TMP/seed.log")
log "seeded in $(printf %.0f "$seed_s") s: $(tail -1 "$TMP/seed.log")"

PPORT=$(freeport)
FPORT=$(freeport)
PARLEY=http://127.0.0.1:$PPORT
FAKE=http://127.0.0.1:$FPORT
bin/fakecarrier -addr "127.0.0.1:$FPORT" -parley-url "$PARLEY" -public-url "$PARLEY" \
	-account "$SID:$TOKEN" -log-level warn >"$TMP/fakecarrier.log" 2>&1 &
fake_pid=$!
(cd "$TMP" && PARLEY_ADDR=127.0.0.1:$PPORT PARLEY_PUBLIC_URL=$PARLEY PARLEY_TWILIO_API_URL=$FAKE \
	PARLEY_LOG_LEVEL=warn PARLEY_LOG_FORMAT=json PARLEY_TOKEN_FILE=$TMP/token \
	exec "$ROOT/bin/parley" serve) >"$TMP/parley.log" 2>&1 &
parley_pid=$!
for _ in $(seq 1 100); do
	curl -fs "$PARLEY/readyz" >/dev/null 2>&1 && curl -fs "$FAKE/fake/count" >/dev/null 2>&1 && break
	kill -0 "$parley_pid" 2>/dev/null || {
		cat "$TMP/parley.log" >&2
		exit 1
	}
	sleep 0.1
done

api() {
	local out
	out=$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -w '\n%{http_code}' "$@")
	case ${out##*$'\n'} in 2??) echo "${out%$'\n'*}" ;; *)
		echo "API $*: $out" >&2
		return 1
		;;
	esac
}
inbox=$(api -X POST "$PARLEY/v1/inboxes" -d '{"name":"Campaigns","kind":"support"}' | jq -r .id)
channel=$(api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"twilio\",\"phone_number\":\"$BUSINESS\",\"inbox_id\":\"$inbox\",
	\"account_sid\":\"$SID\",\"auth_token\":\"$TOKEN\"}" | jq -r .id)
# new_campaign NAME BODY: a campaign to every seeded contact; prints its id.
new_campaign() {
	api -X POST "$PARLEY/v1/campaigns" -d "{\"name\":\"$1\",\"channel_id\":\"$channel\",
	\"body\":\"$2\",\"audience\":{\"filter\":{\"contact_type\":\"customer\"}},\"rate_per_second\":$RATE}" | jq -r .id
}
campaign=$(new_campaign Million 'Hi {{first_name|there}}')

mb() { printf %.1f "$(echo "scale=2; $1 / 1024" | bc)"; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' "/proc/$1/stat"; } # utime+stime
cpu_s() { cpu_of "$parley_pid"; }
# The machine's busy CPU seconds (all cores, idle and iowait left out): what
# parley, the fake carrier and the database took, with whatever else ran.
busy_s() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.1f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# The sampling loop below starts no process: the machine it measures is
# the one it runs on, and a psql, curl, jq and bc a second took a tenth of
# it. Its SQL goes to one psql (or sqlite3) kept open, the fake carrier's
# count over bash's /dev/tcp, the RSS is read from /proc by bash, the clock
# is $EPOCHREALTIME and the pauses wait on a pipe nobody writes to.
if [ "$DB" = postgres ]; then
	coproc SAMPLER_SQL { exec psql "$DBURL" -XAtq 2>&1; }
else
	coproc SAMPLER_SQL { exec sqlite3 -cmd '.timeout 5000' "$TMP/parley.db" 2>&1; }
fi
exec {idle_fd}<> <(:)
# sample_sql QUERY: the query's one-line answer in $REPLY.
sample_sql() {
	printf '%s\n' "$1" >&"${SAMPLER_SQL[1]}"
	IFS= read -r REPLY <&"${SAMPLER_SQL[0]}"
}
# sample_sent: the texts the fake carrier accepted, in $sent.
sample_sent() {
	local fd line body=
	exec {fd}<>"/dev/tcp/127.0.0.1/$FPORT"
	printf 'GET /fake/count HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
	while IFS= read -r line <&"$fd" || [ -n "$line" ]; do body=$line line=; done
	exec {fd}<&-
	[[ $body =~ \"accepted\":\ *([0-9]+) ]] && sent=${BASH_REMATCH[1]}
}
# sample_rss: parley's VmRSS and VmHWM (kB) in $rss and $hwm.
sample_rss() {
	local k v _
	while read -r k v _; do
		case $k in VmRSS:) rss=$v ;; VmHWM:) hwm=$v ;; esac
	done <"/proc/$parley_pid/status"
}
# elapsed: milliseconds since $start_us in $t_ms, and as seconds ("12.345") in $t.
elapsed() {
	local now_us=${EPOCHREALTIME/./}
	t_ms=$(((now_us - start_us) / 1000))
	printf -v t '%d.%03d' $((t_ms / 1000)) $((t_ms % 1000))
}
pause() { read -rt "$1" -u "$idle_fd" || :; }

printf 't_s\tphase\texpand_stage\texpand_cursor\tstatus\tsent\trss_kb\thwm_kb\n' >"$TMP/samples.tsv"
sample_rss
rss0=$rss
log "parley pid $parley_pid (RSS $(mb "$rss0") MB before the campaign); starting campaign $campaign to $RECIPIENTS recipients at $RATE/s"
load_start=$(load1) cpu_start=$(cpu_s) fake_cpu_start=$(cpu_of "$fake_pid") busy_start=$(busy_s)
asked_us=${EPOCHREALTIME/./}
api -X POST "$PARLEY/v1/campaigns/$campaign/start" >/dev/null
start_us=${EPOCHREALTIME/./}
start_ms=$(((start_us - asked_us) / 1000)) # the start's answer: it expands the first chunk

# Expansion: the stage is polled four times a second for the time, the
# rest once a second.
phase=expanding stage=0 status=sending i=0 sent=0 rss=0 hwm=0
expand_s= expand_ms= expand_hwm= sent_at_expand=
while :; do
	kill -0 "$parley_pid" 2>/dev/null || {
		log "parley exited"
		tail -20 "$TMP/parley.log" >&2
		exit 1
	}
	sample_sql "SELECT expand_stage || ' ' || expand_cursor || ' ' || status FROM campaigns WHERE id = $campaign;"
	read -r stage cursor status <<<"$REPLY"
	elapsed
	if [ "$phase" = expanding ] && [ "$stage" -ge 3 ]; then
		sample_rss
		sample_sent
		expand_s=$t expand_ms=$t_ms expand_hwm=$hwm sent_at_expand=$sent cpu_expand=$(cpu_s)
		recipients=$(sql "SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = $campaign")
		log "expanded: $recipients recipients in $(printf %.1f "$t") s; VmHWM $(mb "$expand_hwm") MB; $sent_at_expand texts sent meanwhile"
		phase=sending
	fi
	if [ $((i % 4)) = 0 ] || [ "$phase" = sending ]; then
		sample_rss
		sample_sent
		printf '%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$phase" "$stage" "$cursor" "$status" "$sent" "$rss" "$hwm" >>"$TMP/samples.tsv"
		if [ $((i % 40)) = 0 ] || { [ "$phase" = sending ] && [ $((t_ms / 1000 % 10)) = 0 ]; }; then
			log "t=$((t_ms / 1000))s $phase stage=$stage cursor=$cursor status=$status sent=$sent rss=$(mb "$rss")MB hwm=$(mb "$hwm")MB"
		fi
	fi
	if [ "$phase" = sending ]; then
		if [ "$status" != sending ] && [ "$status" != scheduled ]; then
			log "campaign $status"
			break
		fi
		if [ "$SEND_SECONDS" != 0 ] && [ $((t_ms - expand_ms)) -ge $((SEND_SECONDS * 1000)) ]; then break; fi
		pause 1
	else
		if [ $((t_ms / 1000)) -ge "$EXPAND_TIMEOUT" ]; then
			recipients=$(sql "SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = $campaign")
			sample_sent
			sample_rss
			log "expansion not done after $EXPAND_TIMEOUT s: stage $stage, cursor $cursor, $recipients recipients ($(echo "$recipients / $t" | bc)/s), $sent texts sent, VmRSS $(mb "$rss") MB, VmHWM $(mb "$hwm") MB"
			grep -E '"level":"(error|warn)"' "$TMP/parley.log" | head -10 | cut -c1-400 || true
			printf '{"kind":"campaign_1m","rev":"%s","dirty_files":%s,"db":"%s","recipients":%s,"expand_s":null,"expanded":%s,"after_s":%.0f,"peak_rss_mb":%s,"rss_end_mb":%s,"sent":%s,"load1_start":%s,"load1_end":%s}\n' \
				"$rev" "$dirty" "$DB" "$RECIPIENTS" "$recipients" "$t" "$(mb "$hwm")" "$(mb "$rss")" "$sent" "$load_start" "$(load1)"
			exit 1
		fi
		i=$((i + 1))
		pause 0.25
	fi
done

# GET /v1/campaigns/{id}: 200 requests on one keep-alive connection, while
# the campaign sends and again once it is paused (or done), prints "p50
# p95" in ms. The counts come from the campaign's row; what a GET
# aggregated before is timed beside it.
get_latency() {
	curl -sS -H "Authorization: Bearer $token" -w '\n%{time_total}\n' $(for _ in $(seq 200); do printf '%s ' "$PARLEY/v1/campaigns/$campaign"; done) |
		grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 * 1000 } END { printf "%.2f %.2f", v[int(NR * 0.5)], v[int(NR * 0.95)] }'
}
read -r get_p50 get_p95 <<<"$(get_latency)"
[ "$status" = sending ] && api -X POST "$PARLEY/v1/campaigns/$campaign/pause" >/dev/null && sleep 2
read -r rest_p50 rest_p95 <<<"$(get_latency)"
aggregate_ms=null
if [ "$DB" = postgres ]; then
	aggregate_ms=$(sql "EXPLAIN (ANALYZE, FORMAT JSON) SELECT COUNT(*), SUM(CASE WHEN m.status = 'delivered' THEN 1 ELSE 0 END)
		FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = $campaign" | jq '.[0]["Execution Time"]')
fi

elapsed
end_t=$t
sample_rss
rss_end=$rss hwm_end=$hwm
sample_sent
sent_end=$sent
cpu_end=$(cpu_s) load_end=$(load1) fake_cpu_end=$(cpu_of "$fake_pid") busy_end=$(busy_s)
# CPU a text handed over, in ms, from the start to the end of the run.
# per_text END START TEXTS: CPU seconds from START to END, in ms a text.
per_text() { printf %.3f "$(echo "scale=6; ($1 - $2) * 1000 / $3" | bc)"; }
parley_ms=$(per_text "$cpu_end" "$cpu_start" "$sent_end") fake_ms=$(per_text "$fake_cpu_end" "$fake_cpu_start" "$sent_end")
machine_ms=$(per_text "$busy_end" "$busy_start" "$sent_end")
send_s=$(echo "$end_t - $expand_s" | bc)
rate=$(printf %.1f "$(echo "scale=2; ($sent_end - $sent_at_expand) / $send_s" | bc)")
statuses=$(sql "SELECT status || '=' || COUNT(*) FROM messages WHERE campaign_id = $campaign GROUP BY status ORDER BY status" | tr '\n' ' ')
# RSS after 60, 120 and 300 s of sending (the first sample at or after
# each; "-" when sending stopped sooner).
rss_at() {
	awk -F'\t' -v e="$expand_s" -v a="$1" 'NR > 1 && $2 == "sending" && $1 - e >= a { printf "%.1f", $7 / 1024; found = 1; exit }
		END { if (!found) print "-" }' "$TMP/samples.tsv"
}
r60=$(rss_at 60) r120=$(rss_at 120) r300=$(rss_at 300)
errors=$(grep -c '"level":"error"' "$TMP/parley.log" || true)
warns=$(grep -c '"level":"warn"' "$TMP/parley.log" || true)

echo
echo "code                $rev ($dirty uncommitted non-test Go files)"
echo "database            $DB ($(if [ "$DB" = postgres ]; then sql 'SHOW server_version'; else sqlite3 --version | cut -d' ' -f1; fi))"
echo "recipients          $recipients (seeded in $(printf %.0f "$seed_s") s)"
echo "expansion           $(printf %.1f "$expand_s") s ($(echo "$recipients / $expand_s" | bc) recipients/s)"
echo "peak RSS (VmHWM)    expanding: $(mb "$expand_hwm") MB; overall: $(mb "$hwm_end") MB (RSS before start $(mb "$rss0") MB)"
echo "RSS                 at end: $(mb "$rss_end") MB; after 60/120/300 s of sending: $r60/$r120/$r300 MB"
echo "texts sent          $sent_end ($sent_at_expand during expansion); $rate/s over $(printf %.0f "$send_s") s after expansion"
echo "campaign            status $status; messages by status: $statuses"
echo "parley CPU          $(printf %.1f "$(echo "$cpu_expand - $cpu_start" | bc)") s expanding, $(printf %.1f "$(echo "$cpu_end - $cpu_expand" | bc)") s sending; machine load average $load_start at start, $load_end at end ($(nproc) CPUs)"
echo "CPU a text          parley $parley_ms ms, fake carrier $fake_ms ms, the whole machine $machine_ms ms (the rest: the database and anything else)"
echo "GET of the campaign p50 $get_p50 ms, p95 $get_p95 ms while sending; p50 $rest_p50 ms, p95 $rest_p95 ms at rest; aggregating its recipients: $aggregate_ms ms"
echo "parley log          $errors errors, $warns warnings"
if [ "$((errors + warns))" -gt 0 ]; then
	grep -E '"level":"(error|warn)"' "$TMP/parley.log" | head -10 | cut -c1-400
fi
printf '{"kind":"campaign_1m","rev":"%s","dirty_files":%s,"db":"%s","recipients":%s,"start_ms":%s,"expand_s":%.1f,"peak_rss_mb":%s,"peak_rss_expand_mb":%s,"rss_end_mb":%s,"send_rate":%s,"sent":%s,"seconds":%.0f,"get_p50_ms":%s,"get_p95_ms":%s,"rest_get_p50_ms":%s,"rest_get_p95_ms":%s,"aggregate_ms":%s,"errors":%s,"load1_start":%s,"load1_end":%s,"parley_cpu_ms_per_text":%s,"fake_cpu_ms_per_text":%s,"machine_cpu_ms_per_text":%s}\n' \
	"$rev" "$dirty" "$DB" "$recipients" "$start_ms" "$expand_s" "$(mb "$hwm_end")" "$(mb "$expand_hwm")" "$(mb "$rss_end")" "$rate" "$sent_end" "$end_t" \
	"$get_p50" "$get_p95" "$rest_p50" "$rest_p95" "$aggregate_ms" "$errors" "$load_start" "$load_end" "$parley_ms" "$fake_ms" "$machine_ms"

# REPEAT=1 (with SEND_SECONDS=0): once the first campaign is done, a second
# to the same audience, as a business's next one is: every recipient has
# a thread, earlier sends and a first send. Its line comes last.
if [ "${REPEAT:-}" = 1 ] && [ "$status" = completed ]; then
	again=$(new_campaign Again 'Hi again {{first_name|there}}')
	sample_sent
	sent0=$sent cpu0=$(cpu_s) fake0=$(cpu_of "$fake_pid") busy0=$(busy_s)
	start_us=${EPOCHREALTIME/./}
	log "starting campaign $again to the same $RECIPIENTS recipients"
	api -X POST "$PARLEY/v1/campaigns/$again/start" >/dev/null
	while :; do
		sample_sql "SELECT status FROM campaigns WHERE id = $again;"
		case $REPLY in sending | scheduled) pause 1 ;; *) break ;; esac
	done
	elapsed
	sample_sent
	n=$((sent - sent0))
	log "campaign $again $REPLY: $n texts in $t s"
	printf '{"kind":"campaign_repeat","rev":"%s","dirty_files":%s,"db":"%s","recipients":%s,"status":"%s","sent":%s,"seconds":%.0f,"send_rate":%.1f,"parley_cpu_ms_per_text":%s,"fake_cpu_ms_per_text":%s,"machine_cpu_ms_per_text":%s}\n' \
		"$rev" "$dirty" "$DB" "$RECIPIENTS" "$REPLY" "$n" "$t" "$(echo "$n / $t" | bc -l)" \
		"$(per_text "$(cpu_s)" "$cpu0" "$n")" "$(per_text "$(cpu_of "$fake_pid")" "$fake0" "$n")" "$(per_text "$(busy_s)" "$busy0" "$n")"
fi
