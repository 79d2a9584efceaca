#!/usr/bin/env bash
# make run: Parley on the embedded SQLite database with the fake carrier
# playing Twilio and the phones, and a demo inbox and channel, so that a
# text can be sent in and its answer seen (README "Walkthrough").
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_ACCOUNT_SID=ACdemo0000000000000000000000000000
DEMO_AUTH_TOKEN=demotoken0000000000000000000000
DEMO_NUMBER=+14155550199
PARLEY=http://127.0.0.1:8080
FAKE=http://127.0.0.1:8090

bin/fakecarrier -addr 127.0.0.1:8090 -parley-url "$PARLEY" -public-url http://localhost:8080 \
	-account "$DEMO_ACCOUNT_SID:$DEMO_AUTH_TOKEN" &
fake_pid=$!
PARLEY_ADDR=127.0.0.1:8080 PARLEY_TWILIO_API_URL="$FAKE" bin/parley serve &
parley_pid=$!
trap 'kill $fake_pid $parley_pid 2>/dev/null || true; wait' EXIT INT TERM

for _ in $(seq 1 50); do
	curl -fs "$PARLEY/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
if [ ! -f parley-admin.token ]; then
	echo "parley.db exists but parley-admin.token does not: run 'make clean' for a fresh demo" >&2
	wait
fi
token=$(cat parley-admin.token)
api() { curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }

if ! api "$PARLEY/v1/channels" | grep -q "$DEMO_NUMBER"; then
	inbox=$(api -X POST "$PARLEY/v1/inboxes" -d '{"name":"Demo support","kind":"support"}' | sed -E 's/.*"id":"([0-9]+)".*/\1/')
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"twilio\",\"phone_number\":\"$DEMO_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_sid\":\"$DEMO_ACCOUNT_SID\",\"auth_token\":\"$DEMO_AUTH_TOKEN\"}" >/dev/null
fi

cat <<MSG

  Parley is serving on $PARLEY (SQLite: parley.db), the fake carrier on $FAKE.
  Demo channel: $DEMO_NUMBER. Admin token: in ./parley-admin.token.
  Try the README walkthrough in another terminal. Ctrl-C stops both.

MSG
wait
