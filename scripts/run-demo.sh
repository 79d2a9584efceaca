#!/usr/bin/env bash
# make run: Parley on the embedded SQLite database with the fake carrier
# playing Twilio, Telnyx, Plivo, Bandwidth, Vonage, Bird and the phones, and
# a demo inbox: a channel on each carrier, an agent, the tags Sale,
# Follow-up call and Not interested, and fourteen threads (new, assigned and
# tagged for a follow-up, opted out, with a note, one with a quote, its
# outcome and a suggestion to review, four from a campaign and a quick
# message with a reply resolved as a sale (Reports → Outbound), and one
# through each other carrier), so that the web inbox has something to show
# at once (README "Walkthrough"; TestDemoAndWalkthrough). Running it again
# adds nothing: every step checks first, and the demo texts carry fixed
# carrier ids, which Parley takes only once.
#
# PARLEY_DEMO_PASSWORD sets the demo users' password (default below); it is
# set when the demo agent is created, that is on the first run.
# PARLEY_DEMO_PORT and PARLEY_DEMO_FAKE_PORT move Parley and the fake
# carrier off 8080 and 8090; PARLEY_DEMO_BIN is where the two programs are
# (bin); PARLEY_DATABASE_URL and PARLEY_TOKEN_FILE are Parley's own.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_ACCOUNT_SID=ACdemo0000000000000000000000000000
DEMO_AUTH_TOKEN=demotoken0000000000000000000000
DEMO_NUMBER=+14155550199
DEMO_TELNYX_NUMBER=+14155550198
DEMO_TELNYX_KEY=KEYdemo0000000000000000000000000
DEMO_BANDWIDTH_NUMBER=+14155550196
DEMO_PLIVO_NUMBER=+14155550197
DEMO_PLIVO_AUTH_ID=MADEMO00000000000001
DEMO_PLIVO_TOKEN=demo-plivo-token
DEMO_VONAGE_NUMBER=+14155550195
DEMO_BIRD_NUMBER=+14155550194
DEMO_PASSWORD=${PARLEY_DEMO_PASSWORD:-parley-demo}
ADMIN_EMAIL=admin@parley.local
AGENT_EMAIL=ann@parley.local
PORT=${PARLEY_DEMO_PORT:-8080}
FAKE_PORT=${PARLEY_DEMO_FAKE_PORT:-8090}
BIN=${PARLEY_DEMO_BIN:-bin}
TOKEN_FILE=${PARLEY_TOKEN_FILE:-parley-admin.token}
PARLEY=http://127.0.0.1:$PORT
FAKE=http://127.0.0.1:$FAKE_PORT

# Another program on either port would answer the readiness checks below in
# this demo's place: say so, and stop, before starting anything.
for addr in "127.0.0.1:$PORT" "127.0.0.1:$FAKE_PORT"; do
	if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
		echo "make run: something already listens on $addr (an earlier make run?); stop it first" >&2
		exit 1
	fi
done

"$BIN/fakecarrier" -addr "127.0.0.1:$FAKE_PORT" -parley-url "$PARLEY" -public-url "http://localhost:$PORT" \
	-account "$DEMO_ACCOUNT_SID:$DEMO_AUTH_TOKEN" &
fake_pid=$!
PARLEY_ADDR=127.0.0.1:$PORT PARLEY_PUBLIC_URL="http://localhost:$PORT" PARLEY_TWILIO_API_URL="$FAKE" PARLEY_TELNYX_API_URL="$FAKE" PARLEY_PLIVO_API_URL="$FAKE" PARLEY_BANDWIDTH_API_URL="$FAKE" \
	PARLEY_VONAGE_API_URL="$FAKE" PARLEY_BIRD_API_URL="$FAKE" "$BIN/parley" serve &
parley_pid=$!
trap 'kill $fake_pid $parley_pid 2>/dev/null || true; wait' EXIT INT TERM

for _ in $(seq 1 50); do
	curl -fs "$PARLEY/readyz" >/dev/null 2>&1 && curl -fs "$FAKE/fake/count" >/dev/null 2>&1 && break
	sleep 0.2
done
if [ ! -f "$TOKEN_FILE" ]; then
	echo "parley.db exists but $TOKEN_FILE does not: run 'make clean' for a fresh demo" >&2
	wait
fi
token=$(cat "$TOKEN_FILE")
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
# first_id prints the first "id" of the JSON on stdin: the object's own, or
# the first item's of a list.
first_id() { grep -o '"id":"[0-9]*"' | sed -n '1s/[^0-9]//gp'; }
# has PATTERN: whether stdin matches; it reads it all, so that the writer
# never dies of a closed pipe (pipefail).
has() { grep -e "$1" >/dev/null; }

if ! api "$PARLEY/v1/channels" | has "$DEMO_NUMBER"; then
	inbox=$(api -X POST "$PARLEY/v1/inboxes" -d '{"name":"Demo support","kind":"support"}' | first_id)
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"twilio\",\"phone_number\":\"$DEMO_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_sid\":\"$DEMO_ACCOUNT_SID\",\"auth_token\":\"$DEMO_AUTH_TOKEN\"}" >/dev/null
fi

# A Telnyx number in the same inbox: the fake publishes its account's
# public key, which checks Telnyx's signed webhooks.
if ! api "$PARLEY/v1/channels" | has "$DEMO_TELNYX_NUMBER"; then
	inbox=$(api "$PARLEY/v1/inboxes" | first_id)
	telnyx=$(curl -fsS "$FAKE/fake/telnyx/public-key")
	field() { printf '%s' "$telnyx" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"telnyx\",\"phone_number\":\"$DEMO_TELNYX_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_id\":\"$(field messaging_profile_id)\",\"auth_token\":\"$DEMO_TELNYX_KEY\",\"webhook_secret\":\"$(field public_key)\"}" >/dev/null
fi

# And a Plivo number, whose webhooks are signed with its auth token.
if ! api "$PARLEY/v1/channels" | has "$DEMO_PLIVO_NUMBER"; then
	inbox=$(api "$PARLEY/v1/inboxes" | first_id)
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"plivo\",\"phone_number\":\"$DEMO_PLIVO_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_id\":\"$DEMO_PLIVO_AUTH_ID\",\"auth_token\":\"$DEMO_PLIVO_TOKEN\"}" >/dev/null
fi

# And a Bandwidth number: Bandwidth signs nothing, so its callbacks carry
# credentials and the channel's URLs a token, which the application is
# then set up with (here, the fake's).
if ! api "$PARLEY/v1/channels" | has "$DEMO_BANDWIDTH_NUMBER"; then
	inbox=$(api "$PARLEY/v1/inboxes" | first_id)
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"bandwidth\",\"phone_number\":\"$DEMO_BANDWIDTH_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_id\":\"9900001\",\"auth_token\":\"demo-bandwidth-password\",\"webhook_secret\":\"demo-callback-password\",
		\"options\":{\"application_id\":\"93de2206-9669-4e07-948d-329f4b722ee2\",\"api_username\":\"parley-api\"}}" >/dev/null
fi
# A Vonage number: its webhooks are signed with the account's signature
# secret (HMAC-SHA256 chosen here; md5hash is Vonage's default).
if ! api "$PARLEY/v1/channels" | has "$DEMO_VONAGE_NUMBER"; then
	inbox=$(api "$PARLEY/v1/inboxes" | first_id)
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"vonage\",\"phone_number\":\"$DEMO_VONAGE_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_id\":\"demo1234\",\"auth_token\":\"demo-vonage-secret\",\"webhook_secret\":\"demo-vonage-signature-secret\"}" >/dev/null
fi
# And a Bird SMS channel, whose webhooks are signed with the subscription's
# signing key.
if ! api "$PARLEY/v1/channels" | has "$DEMO_BIRD_NUMBER"; then
	inbox=$(api "$PARLEY/v1/inboxes" | first_id)
	api -X POST "$PARLEY/v1/channels" -d "{\"carrier\":\"bird\",\"phone_number\":\"$DEMO_BIRD_NUMBER\",\"inbox_id\":\"$inbox\",
		\"account_id\":\"b1d00000-0000-4000-8000-000000000002\",\"auth_token\":\"demo-bird-access-key\",
		\"webhook_secret\":\"demo-bird-signing-key\",\"options\":{\"workspace_id\":\"b1d00000-0000-4000-8000-000000000001\"}}" >/dev/null
fi
urls=$(api "$PARLEY/v1/channels?limit=100" | grep -o '"inbound_webhook_url":"[^"]*webhooks/bandwidth/[^"]*","status_webhook_url":"[^"]*"')
curl -fsS "$FAKE/fake/bandwidth/callbacks" -H 'Content-Type: application/json' \
	-d "{\"inbound\":\"$(printf '%s' "$urls" | sed 's/.*"inbound_webhook_url":"\([^"]*\)".*/\1/')\",
		\"outbound\":\"$(printf '%s' "$urls" | sed 's/.*"status_webhook_url":"\([^"]*\)".*/\1/')\"}" >/dev/null

# The bootstrap account is called "default": the HELP answer names the
# business instead.
if api "$PARLEY/v1/settings/conversations" | has '"help_text":"default: '; then
	api -X PATCH "$PARLEY/v1/settings/conversations" \
		-d '{"help_text":"Parley Demo Co.: reply STOP to unsubscribe. Msg&data rates may apply. Help: support@parley.local"}' >/dev/null
fi

# The demo agent, and passwords for the web inbox (set from the shell, as an
# operator would: parley user set-password).
agent=$(api "$PARLEY/v1/users?limit=100" | grep -o "\"id\":\"[0-9]*\",\"email\":\"$AGENT_EMAIL\"" | first_id || true)
if [ -z "$agent" ]; then
	agent=$(api -X POST "$PARLEY/v1/users" -d "{\"email\":\"$AGENT_EMAIL\",\"name\":\"Ann Agent\",\"role\":\"agent\"}" | first_id)
	for email in "$ADMIN_EMAIL" "$AGENT_EMAIL"; do
		printf '%s\n' "$DEMO_PASSWORD" | "$BIN/parley" user set-password --email "$email" >/dev/null
	done
fi

# text PHONE SID BODY: the phone texts the demo number through the fake
# carrier; the fixed SID makes a second run's text a duplicate Parley drops.
text() {
	curl -fsS "$FAKE/fake/inbound" -H 'Content-Type: application/json' \
		-d "{\"from\":\"$1\",\"to\":\"$DEMO_NUMBER\",\"message_sid\":\"$2\",\"body\":\"$3\"}" >/dev/null
}
conversation() { api "$PARLEY/v1/conversations?contact_phone=%2B${1#+}" | first_id; }

# Assigned to the agent.
text +14155550112 SM00000000000000000000000000de0102 "Hi, my order 4521 still hasn't arrived. Can you check?"
conv=$(conversation +14155550112)
if ! api "$PARLEY/v1/conversations/$conv" | has "\"assignee_id\":\"$agent\""; then
	api -X POST "$PARLEY/v1/conversations/$conv/assign" -d "{\"assignee_id\":\"$agent\"}" >/dev/null
fi
# Opted out: the keyword reply goes back through the fake carrier. The
# keyword changes no status (DESIGN.md; only a first text that is a keyword
# creates its thread resolved), so the thread stays as the earlier text
# left it; reopened, it shows in the inbox's open list.
if [ -z "$(conversation +14155550113)" ]; then
	text +14155550113 SM00000000000000000000000000de0113 "Thanks, but I'd rather not get texts about this."
	text +14155550113 SM00000000000000000000000000de0103 "STOP"
	api -X POST "$PARLEY/v1/conversations/$(conversation +14155550113)/reopen" >/dev/null
fi
# With a note for colleagues.
text +14155550114 SM00000000000000000000000000de0104 "Can I still change the delivery address for tomorrow?"
conv=$(conversation +14155550114)
if ! api "$PARLEY/v1/conversations/$conv/messages" | has '"kind":"note"'; then
	api -X POST "$PARLEY/v1/conversations/$conv/notes" \
		-d '{"body":"Warehouse says address changes are fine until 6pm the day before."}' >/dev/null
fi
# Outcomes: a quote sent from a conversation, linked and recorded; then the
# CRM marks it accepted, which raises a suggestion for staff to review in
# the thread (Add or Dismiss). Only once: the quote's existence says done.
text +14155550115 SM00000000000000000000000000de0105 "Could you send me a quote for the new patio? We'd like to start in May."
conv=$(conversation +14155550115)
if ! api "$PARLEY/v1/records?type=quote&q=Q-1001" | has '"external_id":"Q-1001"'; then
	quote_json='"title":"Patio, 24 sq m","amount":"4800.00","currency":"USD","url":"https://crm.example.com/quotes/Q-1001"'
	quote=$(api -X PUT "$PARLEY/v1/records/quote/Q-1001" -d "{$quote_json,\"status\":\"sent\",\"conversation_id\":\"$conv\"}" | first_id)
	api -X POST "$PARLEY/v1/conversations/$conv/outcomes" \
		-d "{\"type\":\"quote_sent\",\"record_id\":\"$quote\",\"notes\":\"Sent by email with the drawings.\"}" >/dev/null
	api -X PUT "$PARLEY/v1/records/quote/Q-1001" -d "{$quote_json,\"status\":\"accepted\"}" >/dev/null
fi
# Tags, one of each kind a manager asks about, and the order thread tagged
# for a follow-up call (POST /v1/tags, POST /v1/conversations/{id}/tags).
tags=$(api "$PARLEY/v1/tags?archived=true")
for tag in 'Sale:sale' 'Follow-up call:follow_up' 'Not interested:negative'; do
	if ! printf '%s' "$tags" | has "\"name\":\"${tag%%:*}\""; then
		api -X POST "$PARLEY/v1/tags" -d "{\"name\":\"${tag%%:*}\",\"type\":\"${tag#*:}\"}" >/dev/null
	fi
done
follow_up=$(api "$PARLEY/v1/tags?archived=true" | grep -o '"id":"[0-9]*","name":"Follow-up call"' | first_id)
conv=$(conversation +14155550112)
if ! api "$PARLEY/v1/conversations/$conv" | has '"name":"Follow-up call"'; then
	api -X POST "$PARLEY/v1/conversations/$conv/tags" -d "{\"tag_id\":\"$follow_up\"}" >/dev/null
fi
# The outbound report (Reports → Outbound): a campaign to three phones and
# a quick message, accepted by the fake carrier; one phone answers, and its
# thread is resolved with the Sale tag. Only once: the campaign's name says
# done.
if ! api "$PARLEY/v1/campaigns" | has '"name":"Spring service offer"'; then
	channel=$(api "$PARLEY/v1/channels" | first_id)
	campaign=$(api -X POST "$PARLEY/v1/campaigns" -d "{\"name\":\"Spring service offer\",\"channel_id\":\"$channel\",
		\"body\":\"Spring service: 20% off this month. Reply YES to book, STOP to opt out.\",
		\"audience\":{\"phones\":[\"+14155550116\",\"+14155550117\",\"+14155550118\"]},\"rate_per_second\":5}" | first_id)
	api -X POST "$PARLEY/v1/campaigns/$campaign/start" >/dev/null
	api -X POST "$PARLEY/v1/quick-messages" -d "{\"channel_id\":\"$channel\",\"body\":\"Your spring service is due: shall we book it?\",
		\"to\":[\"+14155550119\"]}" >/dev/null
	for _ in $(seq 1 50); do
		api "$PARLEY/v1/campaigns/$campaign" | has '"status":"completed"' && break
		sleep 0.2
	done
	text +14155550116 SM00000000000000000000000000de0106 "YES please, Thursday morning if you can."
	sale=$(api "$PARLEY/v1/tags?archived=true" | grep -o '"id":"[0-9]*","name":"Sale"' | first_id)
	api -X POST "$PARLEY/v1/conversations/$(conversation +14155550116)/resolve" -d "{\"tag_id\":\"$sale\"}" >/dev/null
fi
# Through Telnyx: the fixed id makes a second run's text a duplicate.
curl -fsS "$FAKE/fake/telnyx/inbound" -H 'Content-Type: application/json' \
	-d '{"from":"+14155550120","id":"de000120-0000-4000-8000-000000000001","text":"Texting your other number: do you deliver on Sundays?"}' >/dev/null
# Through Plivo.
curl -fsS "$FAKE/fake/plivo/inbound" -H 'Content-Type: application/json' \
	-d '{"from":"+14155550121","id":"de000121-0000-4000-8000-000000000001","text":"Hi, is the gift card valid online too?"}' >/dev/null
# Through Bandwidth.
curl -fsS "$FAKE/fake/bandwidth/inbound" -H 'Content-Type: application/json' \
	-d '{"from":"+14155550122","id":"de000122-bw","text":"Can I pay by bank transfer?"}' >/dev/null
# Through Vonage: long enough to arrive in two parts, joined into one.
curl -fsS "$FAKE/fake/vonage/inbound" -H 'Content-Type: application/json' \
	-d '{"from":"+14155550123","id":"DE0001230000VG01","text":"Hello, I booked a table for six on Saturday at eight under the name Moreau, but two more friends will join us. Could you make it eight people, ideally by the window? Thanks!"}' >/dev/null
# Through Bird.
curl -fsS "$FAKE/fake/bird/inbound" -H 'Content-Type: application/json' \
	-d '{"from":"+14155550124","id":"de000124-0000-4000-8000-0000000000b1","text":"Do you have parking near the shop?"}' >/dev/null
# New, and so at the top of the list.
text +14155550111 SM00000000000000000000000000de0101 "Hello! Do you have any appointments left this Friday?"

cat <<MSG

  Parley's web inbox: $PARLEY/
    sign in as $ADMIN_EMAIL (admin) or $AGENT_EMAIL (agent), password: $DEMO_PASSWORD
  API: $PARLEY/v1 with the admin token in $TOKEN_FILE.
  Fake carrier (the phones): $FAKE; demo channels: $DEMO_NUMBER (Twilio), $DEMO_TELNYX_NUMBER (Telnyx), $DEMO_PLIVO_NUMBER (Plivo), $DEMO_BANDWIDTH_NUMBER (Bandwidth),
    $DEMO_VONAGE_NUMBER (Vonage), $DEMO_BIRD_NUMBER (Bird).
  Try the README walkthrough in another terminal. Ctrl-C stops both.

MSG
wait
