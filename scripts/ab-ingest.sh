#!/usr/bin/env bash
# Ingest A/B: two revisions' binaries alternating on fresh databases.
#   scripts/ab-ingest.sh OLD_REV NEW_REV [PAIRS]
# Prints one JSON line per run (parley bench's), tagged with the revision
# and the database. PostgreSQL at $PGHOST (127.0.0.1) as user postgres.
set -euo pipefail
old=${1:?old revision}; new=${2:?new revision}; pairs=${3:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; git worktree prune' EXIT
for rev in "$old" "$new"; do
  git worktree add -q --detach "$dir/src-$rev" "$rev"
  (cd "$dir/src-$rev" && go build -o "$dir/parley-$rev" ./cmd/parley)
  git worktree remove --force "$dir/src-$rev"
done
host=${PGHOST:-127.0.0.1}
for i in $(seq 1 "$pairs"); do
  for rev in "$old" "$new"; do
    db="ab_$(date +%s%N)"
    psql -h "$host" -U postgres -qc "CREATE DATABASE $db" >/dev/null
    "$dir/parley-$rev" bench --mode closed --clients 16 --duration 20s --warmup 2s --ceiling=false \
      --database-url "postgres://postgres@$host:5432/$db?sslmode=disable" 2>/dev/null | grep '^{' | sed "s/^{/{\"rev\":\"$rev\",/"
    psql -h "$host" -U postgres -qc "DROP DATABASE $db" >/dev/null
    rm -f "$dir"/s.db*
    "$dir/parley-$rev" bench --mode closed --clients 16 --duration 20s --warmup 2s --ceiling=false \
      --database-url "sqlite://$dir/s.db" 2>/dev/null | grep '^{' | sed "s/^{/{\"rev\":\"$rev\",/"
  done
done
