#!/usr/bin/env bash
# Server time of the web inbox's pages on a big database (docs/PERFORMANCE.md
# "Web inbox pages"): the inbox list in several views and a thread, each
# asked RUNS times, as an admin and as an agent. Times are the server's own,
# from the access log's duration_ms; prints a JSON line per page.
#
#   go run ./cmd/parley dev seed --conversations 1000000 --messages 10000000   # once
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_1m?sslmode=disable scripts/bench-pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a seeded database (parley dev seed)}"
RUNS=${RUNS:-200}
ADDR=127.0.0.1:${PORT:-8097}
BASE=http://$ADDR
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/parley" ./cmd/parley
export PARLEY_DATABASE_URL=$DATABASE_URL
password=bench-pages-password
admin=$(psql "$DATABASE_URL" -Atc "SELECT email FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
agent=$(psql "$DATABASE_URL" -Atc "SELECT u.email FROM users u JOIN conversations c ON c.assignee_id = u.id
  GROUP BY u.email ORDER BY count(*) DESC LIMIT 1")
for email in "$admin" "$agent"; do
	echo "$password" | "$work/parley" user set-password --email "$email" >/dev/null
done

PARLEY_ADDR=$ADDR PARLEY_LOG_FORMAT=json "$work/parley" serve >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

signin() { # email jar
	curl -s -o /dev/null -c "$2" --data-urlencode "email=$1" --data-urlencode "password=$password" "$BASE/login"
}
signin "$admin" "$work/admin"
signin "$agent" "$work/agent"

# Threads to open: the newest conversations and some deep in the list.
ids=$(psql "$DATABASE_URL" -Atc "(SELECT id FROM conversations ORDER BY last_message_at DESC LIMIT 20)
  UNION ALL (SELECT id FROM conversations ORDER BY random() LIMIT 20)")
mine=$(psql "$DATABASE_URL" -Atc "SELECT c.id FROM conversations c JOIN users u ON u.id = c.assignee_id
  WHERE u.email = '$agent' ORDER BY c.last_message_at DESC LIMIT 20")

ask() { # jar path
	curl -s -o /dev/null -w '%{http_code}\n' -b "$1" "$BASE$2"
}
measure() { # name jar path...
	local name=$1 jar=$2
	shift 2
	local start
	start=$(wc -l <"$work/log")
	for i in $(seq 1 "$RUNS"); do
		local path=${*:$(( (i % $#) + 1 )):1}
		code=$(ask "$jar" "$path")
		[ "$code" = 200 ] || { echo "$path answered $code" >&2; exit 1; }
	done
	tail -n +"$((start + 1))" "$work/log" | grep '"message":"request"' | grep -v '"path":"/static' |
		sed -E 's/.*"duration_ms":([0-9.]+).*/\1/' | sort -n |
		awk -v name="$name" '{ v[NR] = $1 } END {
			printf "{\"page\":\"%s\",\"requests\":%d,\"p50_ms\":%.2f,\"p95_ms\":%.2f,\"p99_ms\":%.2f}\n",
				name, NR, v[int(NR*0.50)], v[int(NR*0.95)], v[int(NR*0.99)] }'
}

threads=()
for id in $ids; do threads+=("/inbox/conversations/$id"); done
agent_threads=()
for id in $mine; do agent_threads+=("/inbox/conversations/$id"); done

measure "inbox all (admin)" "$work/admin" /inbox
measure "inbox open (admin)" "$work/admin" "/inbox?status=open"
measure "inbox unassigned (admin)" "$work/admin" "/inbox?view=unassigned"
measure "inbox search (admin)" "$work/admin" "/inbox?q=invoice"
measure "inbox mine (agent)" "$work/agent" /inbox
measure "thread (admin)" "$work/admin" "${threads[@]}"
measure "thread (agent)" "$work/agent" "${agent_threads[@]}"
