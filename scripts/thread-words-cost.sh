#!/usr/bin/env bash
# thread-words-cost.sh: what an update of a conversation costs PostgreSQL
# as its thread's search document grows. Parley's schema, threads made by
# `parley bench` (new phones, one text each), then groups of them given
# WORDS distinct words each (a long history); every group then takes the
# same activity updates (last_message_at, updated_at; no new words), timed
# in the server with the GIN indexes' pending lists merged after them (as
# a backend does when a list fills, or autovacuum later): the whole cost. The words are each thread's own (names, numbers,
# addresses: words no other thread has), or with VOCABULARY=shared the
# same ones in every thread (common words); real threads hold both. One
# JSON line per size, the last ones.
#
#   scripts/thread-words-cost.sh
#   WORDS="0 300 1000" UPDATES=4000 VOCABULARY=shared scripts/thread-words-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORDS=${WORDS:-0 100 300 1000}
UPDATES=${UPDATES:-2000}
VOCABULARY=${VOCABULARY:-own}
word="'w' || conversations.id || 'x' || i" # the thread's own words
if [ "$VOCABULARY" = shared ]; then word="'w' || i"; fi
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
db=parley_words_$$
cleanup() { psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT
go build -o bin/parley ./cmd/parley
psql "$PGURL/postgres" -qc "CREATE DATABASE $db" >/dev/null
url="$PGURL/$db?sslmode=disable"
bin/parley migrate -database-url "$url" >/dev/null 2>&1
bin/parley bench --mode closed --clients 16 --duration 4s --warmup 0s --ceiling=false --mix new=1 --database-url "$url" >/dev/null 2>&1
groups=$(wc -w <<<"$WORDS")
k=0
for n in $WORDS; do
	# Group k: the threads whose id mod the number of groups is k.
	# Without positions, as Parley writes documents (migration 00055).
	psql "$PGURL/$db" -qc "UPDATE conversations SET search_tsv = strip(search_tsv || to_tsvector('simple',
    (SELECT string_agg($word, ' ') FROM generate_series(1, $n) i)))
    WHERE id % $groups = $k AND $n > 0" >/dev/null
	k=$((k + 1))
done
psql "$PGURL/$db" -qc "VACUUM ANALYZE conversations" >/dev/null
k=0
for n in $WORDS; do
	ms=$(psql "$PGURL/$db" -At <<SQL | grep -o '[0-9.]* ms' | awk '{t += $1} END {print t}'
\timing on
DO \$\$ DECLARE ids bigint[]; BEGIN
  SELECT array_agg(id) INTO ids FROM (SELECT id FROM conversations WHERE id % $groups = $k LIMIT 500) s;
  FOR j IN 1..$UPDATES LOOP
    UPDATE conversations SET last_message_at = last_message_at + 1, updated_at = updated_at + 1
    WHERE id = ids[1 + j % array_length(ids, 1)];
  END LOOP;
END \$\$;
SELECT gin_clean_pending_list('conversations_search') + gin_clean_pending_list('conversations_search_unassigned');
SQL
)
	echo "{\"kind\":\"thread_words\",\"vocabulary\":\"$VOCABULARY\",\"words\":$n,\"updates\":$UPDATES,\"ms_per_update\":$(awk -v t="$ms" -v u="$UPDATES" 'BEGIN{printf "%.4f", t/u}')}"
	k=$((k + 1))
done
