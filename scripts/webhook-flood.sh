#!/usr/bin/env bash
# Floods a parley binary with 200 concurrent ~1 MB forged inbound webhooks
# (bad signature) and prints its RSS before, at the peak and 2 s after, in
# MB (docs/PERFORMANCE.md, "Forged webhook bodies").
# usage: scripts/webhook-flood.sh BINARY PORT
set -u
bin=$1; port=$2; dir=$(mktemp -d)
body=$dir/body.form
{ printf 'Body='; head -c 749000 /dev/urandom | base64 -w0; } | head -c 1000000 >"$body"
PARLEY_ADDR=127.0.0.1:$port PARLEY_DATABASE_URL=sqlite://$dir/p.db PARLEY_TOKEN_FILE=$dir/t PARLEY_LOG_LEVEL=error $bin serve >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs 127.0.0.1:$port/readyz >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$pid/status; }
before=$(rss); peak=$before
for i in $(seq 200); do curl -s -o /dev/null -H 'X-Twilio-Signature: bad' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @$body 127.0.0.1:$port/webhooks/twilio/messages & done
while [ -n "$(jobs -rp | grep -v "^$pid$")" ]; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05; done
sleep 2; after=$(rss)
echo "$(basename $bin) before=${before}MB peak=${peak}MB after=${after}MB"
kill $pid; wait $pid 2>/dev/null; rm -rf $dir
