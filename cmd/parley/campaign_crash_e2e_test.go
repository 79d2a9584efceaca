package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// TestCampaignSurvivesAKilledProcess: a 10,000-recipient campaign at the
// maximum rate runs on two parley processes sharing one PostgreSQL. One of
// them is killed with SIGKILL once about a third of the texts have reached
// the carrier, in the middle of its sends. The other finishes the campaign
// alone: it takes over the dead process's leased texts when their lease
// expires and settles them against the carrier's message list. Afterwards
// every recipient who had not opted out received exactly one campaign text,
// and nobody who had opted out received one: neither the phones opted out
// before the start, nor those that texted STOP while the campaign ran.
//
// The victim's PARLEY_PUBLIC_URL is one the carrier cannot call back: the
// receipts of the texts it sent are lost, as in a deployment whose public
// URL Twilio cannot reach. The campaign's counts still say what happened:
// nothing queued once it completed, the victim's texts sent (or, those
// the survivor settled with the carrier, as the carrier has them now),
// and every recipient counted once.
//
// The outbox lease is 15 s (PARLEY_TEST_CRASH_LEASE overrides it): short
// next to the campaign, yet longer than a send may take (the Twilio
// sender's 10 s timeout), as the dispatcher requires. With a shorter one a
// process that is alive but slow loses texts it is still sending to the
// other, and the takeovers before the kill are logged.
func TestCampaignSurvivesAKilledProcess(t *testing.T) {
	const (
		audienceSize = 10_000
		campaignBody = "Parley Books spring sale: 20% off every book until Sunday."
		killAt       = 3_000 // sends at the carrier when the victim dies
	)
	lease := 15 * time.Second
	if v := os.Getenv("PARLEY_TEST_CRASH_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PARLEY_TEST_CRASH_LEASE: %v", err)
		}
		lease = d
	}
	dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL; fails with CI=true

	phones := make([]string, audienceSize)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 4000000+i)
	}
	// Opted out before the start: one phone in a hundred.
	optedBefore := map[string]bool{}
	for i := 37; i < audienceSize; i += 100 {
		optedBefore[phones[i]] = true
	}
	// STOP mid-campaign, by text, in two groups of twenty. Phones at the
	// very end of the audience text STOP as soon as the campaign sends:
	// they are not even recipients yet. Phones early in the audience text
	// STOP while their campaign text waits in the outbox: the carrier
	// refuses their campaign texts as rate limited (HTTP 429), so Parley
	// keeps each queued for a retry, and after the STOP it must not try
	// again.
	var stopLate, stopQueued []string
	for k := range 20 {
		stopLate = append(stopLate, phones[audienceSize-1-5*k])
		stopQueued = append(stopQueued, phones[150+7*k])
	}

	// One fake carrier plays Twilio for both processes. Each process calls
	// it under a path prefix of its own, so the test can tell whose sends
	// and lookups it saw.
	front := &carrierFront{by: map[string]*carrierCalls{"survivor": {}, "victim": {}},
		held: map[string]*heldPhone{}, heldBody: campaignBody}
	for _, p := range stopQueued {
		front.held[p] = &heldPhone{}
	}
	fake := httptest.NewServer(front)
	t.Cleanup(fake.Close)
	t.Cleanup(func() { // after the processes stop (cleanups run last first)
		if c := front.carrier.Load(); c != nil {
			c.Close()
		}
	})

	survivor := startParley(t, "survivor", dbURL, fake.URL+"/survivor", publicURL, lease)
	victim := startParley(t, "victim", dbURL, fake.URL+"/victim", victimPublicURL, lease) // after the survivor: one bootstrap
	// The phones and the receipts talk to the survivor only.
	carrier := twiliotest.New(twiliotest.Config{Accounts: map[string]string{accountSID: authToken},
		ParleyURL: survivor.base, PublicURL: publicURL, StatusCallbacks: true, StatusDelay: 10 * time.Millisecond,
		HTTPClient: patientClient()})
	front.carrier.Store(carrier)
	e := &env{t: t, carrier: carrier, base: survivor.base, token: crashToken, logs: &syncBuffer{}}
	e.must(200, call(t, victim.base, "GET", "/v1/me")) // the victim serves the same account

	db := rawSQL(t, dbURL) // for the evidence the API does not show

	ch := e.setupChannel(nil)
	for p := range optedBefore {
		e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": p}))
	}
	stoppedAt := map[string]time.Time{} // when Parley answered the STOP
	// stopAll texts STOP from every phone of a group at once. Once a
	// webhook answers, the opt-out is recorded; stillWaiting tells whether
	// the phone's campaign text was still waiting then, as the test means
	// it to be.
	stopAll := func(group []string, stillWaiting func(p string) (bool, string)) {
		t.Helper()
		errs, answered := make([]error, len(group)), make([]time.Time, len(group))
		var wg sync.WaitGroup
		for i, p := range group {
			wg.Go(func() {
				res, err := carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: p, To: business, Body: "STOP"})
				if err == nil && res.StatusCode != http.StatusOK {
					err = fmt.Errorf("inbound webhook answered %d: %s", res.StatusCode, res.Body)
				}
				errs[i], answered[i] = err, time.Now()
			})
		}
		wg.Wait()
		for i, p := range group {
			if errs[i] != nil {
				t.Fatalf("STOP from %s: %v", p, errs[i])
			}
			stoppedAt[p] = answered[i]
			if n := len(campaignTexts(carrier.MessagesTo(p), campaignBody)); n != 0 {
				t.Fatalf("%s received the campaign text before its STOP was answered: the test's pacing assumption broke", p)
			}
			if ok, state := stillWaiting(p); !ok {
				t.Fatalf("%s was %s by the time its STOP was recorded: the test's pacing assumption broke", p, state)
			}
		}
	}

	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Spring sale", "channel_id": ch["id"],
		"body": campaignBody, "rate_per_second": 1000, "audience": map[string]any{"phones": phones}}))
	id := c["id"].(string)
	campaignID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("campaign id %q: %v", id, err)
	}
	// Progress is read from the carrier front's counters: cheap enough to
	// poll, unlike copying the carrier's every text.
	creates := func() int64 { return front.by["survivor"].creates.Load() + front.by["victim"].creates.Load() }
	waitFor := func(what string, within, every time.Duration, cond func() bool) bool {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				t.Errorf("timed out after %s waiting for %s (%d sends at the carrier)", within, what, creates())
				return false
			}
			if survivor.exitedEarly() {
				t.Errorf("the survivor exited while waiting for %s: %v", what, survivor.waitErr)
				return false
			}
			time.Sleep(every)
		}
		return true
	}
	must := func(ok bool) {
		t.Helper()
		if !ok {
			t.FailNow()
		}
	}

	started := time.Now()
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
	must(waitFor("the first campaign text", 120*time.Second, 20*time.Millisecond, func() bool { return creates() > 0 }))
	stopAll(stopLate, func(p string) (bool, string) {
		var status []string
		err := db.Select(&status, `SELECT status FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`, campaignID, p)
		return err == nil && (len(status) == 0 || status[0] != "queued"), fmt.Sprint("a recipient ", status, err)
	})
	must(waitFor("a refused send to every held phone", 180*time.Second, 50*time.Millisecond, func() bool {
		for _, p := range stopQueued {
			if len(front.held[p].tries()) == 0 {
				return false
			}
		}
		return true
	}))
	// Still waiting: in the outbox for a retry, or already withheld for
	// the STOP (a retry that came due meanwhile), not given up on.
	stopAll(stopQueued, func(p string) (bool, string) {
		var m struct {
			InOutbox  bool   `db:"in_outbox"`
			Status    string `db:"status"`
			ErrorCode int64  `db:"error_code"`
		}
		err := db.Get(&m, `SELECT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id) AS in_outbox, m.status, COALESCE(m.error_code, 0) AS error_code
FROM campaign_recipients r JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = $1 AND r.phone = $2`, campaignID, p)
		return err == nil && (m.InOutbox || m.Status == "failed" && m.ErrorCode == 21610), fmt.Sprintf("%+v (%v)", m, err)
	})
	queuedStops := time.Since(started)
	must(waitFor(fmt.Sprintf("%d sends before the kill", killAt), 180*time.Second, 20*time.Millisecond, func() bool { return creates() >= killAt }))
	// The victim dies in the middle of a send: its next text reaches the
	// carrier, and SIGKILL comes before the answer does.
	type kill struct {
		at   time.Time
		sent struct{ Sid, To string } // the text the victim never heard back about
		err  error
	}
	killed := make(chan kill, 1)
	front.victimSends(func(accepted []byte) {
		var k kill
		_ = json.Unmarshal(accepted, &k.sent)
		k.at = time.Now()
		if k.err = victim.cmd.Process.Kill(); k.err == nil { // SIGKILL
			<-victim.exited
		}
		killed <- k
	})
	var k kill
	select {
	case k = <-killed:
	case <-time.After(60 * time.Second):
		t.Fatalf("the victim sent nothing for 60 s after %d sends", creates())
	}
	if k.err != nil {
		t.Fatalf("kill the victim: %v", k.err)
	}
	killedAt, atKill, killWall := k.at.Sub(started), creates(), k.at
	victimSends := front.by["victim"].creates.Load()
	if atKill > audienceSize*7/10 {
		t.Fatalf("the kill came too late to be mid-way: %d sends at the carrier", atKill)
	}
	t.Logf("STOPs of the phones whose texts the carrier held answered %s after the start", queuedStops.Round(time.Millisecond))
	t.Logf("outbox lease %s; killed the victim %s after the start, at %d sends, %d of them by the victim, the last (%s to %s) accepted by the carrier but never answered",
		lease, killedAt.Round(time.Millisecond), atKill, victimSends, k.sent.Sid, k.sent.To)

	optedOut := len(optedBefore) + len(stopLate) + len(stopQueued)
	want := audienceSize - optedOut
	// The campaign completed and the outbox drained: nothing is left that
	// could still be sent. Then every receipt is recorded.
	var atCompletion map[string]int // the counts when the campaign first read completed
	settled := waitFor("the campaign completed and an empty outbox", 5*time.Minute, time.Second, func() bool {
		var n int
		c := e.campaign(id)
		if c["status"] == "completed" && atCompletion == nil {
			atCompletion = counts(c)
		}
		return c["status"] == "completed" && db.Get(&n, `SELECT COUNT(*) FROM outbox`) == nil && n == 0
	})
	// Completed means nothing is left to hand to the carrier, whether or
	// not its receipts have come.
	if sum := atCompletion["queued"] + atCompletion["sent"] + atCompletion["delivered"] + atCompletion["failed"] +
		atCompletion["skipped_opted_out"]; atCompletion != nil && (atCompletion["queued"] != 0 || sum != atCompletion["recipients"]) {
		t.Errorf("counts when the campaign completed %v: want none queued and every recipient counted once", atCompletion)
	}
	allSent := time.Since(started)
	// Receipts come for every text but those the victim sent and recorded.
	var unsettled []string
	settled = settled && waitFor("every receipt", 60*time.Second, 250*time.Millisecond, func() bool {
		unsettled = nil
		err := db.Select(&unsettled, `SELECT carrier_message_id FROM messages WHERE campaign_id = $1 AND status IN ('sending', 'sent')`, campaignID)
		return err == nil && !slices.ContainsFunc(unsettled, func(sid string) bool { return !front.sentByVictim(sid) })
	})
	allDelivered := time.Since(started)

	// Each phone's texts at the carrier.
	byPhone := map[string][]twiliotest.Message{}
	for _, m := range carrier.Messages() {
		byPhone[m.To] = append(byPhone[m.To], m)
	}
	inAudience := map[string]bool{}
	for _, p := range phones {
		inAudience[p] = true
	}
	var suspects []string
	blame := func(p, format string, args ...any) {
		t.Helper()
		if len(suspects) < 50 {
			t.Errorf("%s: "+format, append([]any{p}, args...)...)
		}
		suspects = append(suspects, p)
	}
	stopGroup := map[string]string{}
	for _, p := range stopLate {
		stopGroup[p] = "STOP while not yet a recipient"
	}
	for _, p := range stopQueued {
		stopGroup[p] = "STOP while queued in the outbox"
	}
	twice := 0
	for _, p := range phones {
		got := campaignTexts(byPhone[p], campaignBody)
		switch {
		case optedBefore[p]:
			if len(byPhone[p]) != 0 {
				blame(p, "opted out before the start, received %d texts: %v", len(byPhone[p]), describe(byPhone[p]))
			}
		case stopGroup[p] != "":
			if len(got) != 0 {
				blame(p, "%s answered at %s, received the campaign text anyway: %v", stopGroup[p], stoppedAt[p].Format(time.RFC3339Nano), describe(got))
			}
			if others := len(byPhone[p]) - len(got); others != 1 {
				blame(p, "received %d STOP confirmations, want exactly one: %v", others, describe(byPhone[p]))
			}
		case len(got) != 1:
			if len(got) > 1 {
				twice++
			}
			blame(p, "received the campaign text %d times, want exactly once: %v", len(got), describe(byPhone[p]))
		case len(byPhone[p]) != 1:
			blame(p, "received texts besides the campaign: %v", describe(byPhone[p]))
		}
	}
	// The held phones' texts were tried before their STOP and, once it was
	// recorded, never again (but for a retry already past its consent
	// check when the STOP landed).
	tried := 0
	for _, p := range stopQueued {
		tries := front.held[p].tries()
		tried += len(tries)
		for _, at := range tries {
			if at.After(stoppedAt[p].Add(3 * time.Second)) {
				blame(p, "its text was tried again at %s, %s after its STOP was answered", at.Format(time.RFC3339Nano), at.Sub(stoppedAt[p]).Round(time.Millisecond))
				break
			}
		}
	}
	for p, msgs := range byPhone {
		if !inAudience[p] {
			t.Errorf("%s is not in the audience but received %v", p, describe(msgs))
		}
	}

	// Parley's records agree with the carrier: every recipient texted has
	// one message, delivered (or, sent by the victim and its receipts
	// lost, still sending or sent), holding the carrier's id of the one
	// text the phone received; every opted-out recipient reads skipped_opted_out,
	// and those whose text was already queued at their STOP have it in
	// their thread, failed as unsubscribed (21610) and never sent.
	var rows []struct {
		Phone     string  `db:"phone"`
		Status    string  `db:"status"`
		MsgStatus *string `db:"msg_status"`
		CarrierID *string `db:"carrier_message_id"`
		ErrorCode *int64  `db:"error_code"`
	}
	if err := db.Select(&rows, `SELECT r.phone, r.status, m.status AS msg_status, m.carrier_message_id, m.error_code
FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = $1`, campaignID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != audienceSize {
		t.Errorf("%d campaign_recipients rows, want %d", len(rows), audienceSize)
	}
	for _, r := range rows {
		queuedAtStop := stopGroup[r.Phone] == "STOP while queued in the outbox"
		switch {
		case optedBefore[r.Phone] || stopGroup[r.Phone] != "":
			if r.Status != "skipped_opted_out" {
				blame(r.Phone, "opted out, yet the recipient reads %s (message %s)", r.Status, deref(r.MsgStatus))
			}
			if queuedAtStop && (deref(r.MsgStatus) != "failed" || deref(r.ErrorCode) != "21610" || r.CarrierID != nil) {
				blame(r.Phone, "STOP while queued: message %s, error %s, carrier id %s; want failed, 21610, none",
					deref(r.MsgStatus), deref(r.ErrorCode), deref(r.CarrierID))
			}
			if !queuedAtStop && r.MsgStatus != nil {
				blame(r.Phone, "opted out before being queued, yet has a campaign message (%s)", deref(r.MsgStatus))
			}
		case r.Status != "queued" || deref(r.MsgStatus) != "delivered" && !front.sentByVictim(deref(r.CarrierID)):
			blame(r.Phone, "recipient %s, message %s; want queued and delivered", r.Status, deref(r.MsgStatus))
		case deref(r.MsgStatus) != "delivered" && deref(r.MsgStatus) != "sent" && deref(r.MsgStatus) != "sending":
			blame(r.Phone, "sent by the victim, its receipts lost: message %s; want sending, sent or delivered", deref(r.MsgStatus))
		default:
			if got := campaignTexts(byPhone[r.Phone], campaignBody); len(got) == 1 && deref(r.CarrierID) != got[0].Sid {
				blame(r.Phone, "Parley recorded carrier id %s; the phone's text is %s", deref(r.CarrierID), got[0].Sid)
			}
		}
	}
	var campaignMessages int
	if err := db.Get(&campaignMessages, `SELECT COUNT(*) FROM messages WHERE campaign_id = $1`, campaignID); err != nil {
		t.Fatal(err)
	}
	if campaignMessages != want+len(stopQueued) {
		t.Errorf("%d campaign messages in the threads, want %d texted + %d withheld at their STOP", campaignMessages, want, len(stopQueued))
	}

	// The campaign's own figures.
	final := e.campaign(id)
	got := counts(final)
	if final["status"] != "completed" {
		t.Errorf("campaign status %v, want completed", final["status"])
	}
	if got["recipients"] != audienceSize || got["sent"] != len(unsettled) || got["delivered"] != want-len(unsettled) ||
		got["skipped_opted_out"] != optedOut || got["failed"] != 0 || got["queued"] != 0 {
		t.Errorf("counts %v; want %d recipients, %d sent (the victim's, receipts lost), %d delivered, %d skipped_opted_out, none failed or queued",
			got, audienceSize, len(unsettled), want-len(unsettled), optedOut)
	}
	if len(unsettled) == 0 {
		t.Errorf("no text of the victim's is left without a receipt: the test did not lose them")
	}
	if sum := got["queued"] + got["sent"] + got["delivered"] + got["failed"] + got["skipped_opted_out"] + got["cancelled"]; sum != got["recipients"] {
		t.Errorf("counts %v add up to %d, not the %d recipients", got, sum, got["recipients"])
	}

	// The survivor settled the dead process's texts with the carrier. A
	// reconciliation before the kill took a text from a process still
	// alive, whose lease on it had expired.
	reached, never, early := 0, 0, 0
	for _, p := range []*parleyProcess{survivor, victim} {
		for _, r := range p.takeovers() {
			if r.at.Before(killWall) {
				early++
				t.Logf("%s took over message %s at %s, before the kill: %s", p.name, r.messageID, r.at.Format(time.RFC3339Nano), r.message)
				continue
			}
			if r.reached {
				reached++
			} else {
				never++
			}
		}
	}
	t.Logf("audience %d: %d opted out before the start, %d STOP before being recipients, %d STOP while queued for a retry (%d sends to them refused); %d texted",
		audienceSize, len(optedBefore), len(stopLate), len(stopQueued), tried, want)
	t.Logf("counts %v", got)
	if settled {
		t.Logf("outbox empty %s after the start (%.0f texts/s overall; %.0f texts/s from the survivor alone after the kill); every receipt after %s",
			allSent.Round(time.Millisecond), float64(want)/allSent.Seconds(), float64(int64(want)-atKill)/(allSent-killedAt).Seconds(),
			allDelivered.Round(time.Millisecond))
	}
	t.Logf("carrier calls: survivor %d sends, %d lookups; victim %d sends, %d lookups; after the kill the survivor reconciled %d interrupted sends (%d had reached the carrier, %d had not); %d takeovers before the kill",
		front.by["survivor"].creates.Load(), front.by["survivor"].lists.Load(), victimSends, front.by["victim"].lists.Load(),
		reached+never, reached, never, early)
	if reached == 0 {
		t.Errorf("the survivor found no interrupted send at the carrier, yet the victim died with %s to %s unanswered", k.sent.Sid, k.sent.To)
	}
	if twice > 0 && early > 0 {
		t.Errorf("%d texts were taken over from a live process whose lease had expired (logged above); a process that outlives its lease still sends what it claimed", early)
	}
	if len(suspects) > 0 {
		t.Errorf("%d findings about phones (%d phones texted more than once); the first 50 are reported above", len(suspects), twice)
		dumpPhones(t, db, campaignID, suspects)
	}

	survivor.stop(t)
	if !survivor.cleanExit() {
		t.Errorf("the survivor did not exit cleanly on SIGTERM: %v", survivor.waitErr)
	}
	for _, p := range []*parleyProcess{survivor, victim} {
		if strings.Contains(p.log(), "DATA RACE") {
			t.Errorf("the race detector reported a data race in the %s", p.name)
		}
	}
}

// victimPublicURL is the victim's PARLEY_PUBLIC_URL: receipts for its
// texts are signed over it, and the survivor refuses them.
const victimPublicURL = "https://victim.parley.example.com"

// crashToken is the bootstrap admin's token of the processes.
const crashToken = "e2e-crash-admin-token-00000000000"

// campaignTexts are the texts with the campaign's body.
func campaignTexts(msgs []twiliotest.Message, body string) []twiliotest.Message {
	var out []twiliotest.Message
	for _, m := range msgs {
		if m.Body == body {
			out = append(out, m)
		}
	}
	return out
}

// describe lists texts for a failure message.
func describe(msgs []twiliotest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%s at %s: %q", m.Sid, m.DateCreated.Format(time.RFC3339Nano), m.Body))
	}
	return out
}

func deref[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// dumpPhones logs what the database holds for phones the test blames: the
// recipient row, the messages of the phone's thread and any outbox rows.
func dumpPhones(t *testing.T, db *sqlx.DB, campaignID int64, phones []string) {
	t.Helper()
	phones = slices.Compact(slices.Sorted(slices.Values(phones)))
	if len(phones) > 20 {
		t.Logf("%d phones blamed; evidence for the first 20", len(phones))
		phones = phones[:20]
	}
	for _, p := range phones {
		var out []string
		q := func(label, query string, args ...any) {
			rows, err := db.Queryx(query, args...)
			if err != nil {
				out = append(out, fmt.Sprintf("  %s: %v", label, err))
				return
			}
			defer rows.Close()
			for rows.Next() {
				m := map[string]any{}
				if err := rows.MapScan(m); err != nil {
					out = append(out, fmt.Sprintf("  %s: %v", label, err))
					return
				}
				for k, v := range m {
					if b, ok := v.([]byte); ok {
						m[k] = string(b)
					}
				}
				out = append(out, fmt.Sprintf("  %s: %v", label, m))
			}
		}
		q("campaign_recipients", `SELECT * FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`, campaignID, p)
		q("messages", `SELECT m.id, m.direction, m.kind, m.body, m.status, m.error_code, m.carrier_message_id, m.campaign_id, m.created_at, m.updated_at
FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_phone = $1 ORDER BY m.id`, p)
		q("outbox", `SELECT * FROM outbox WHERE to_phone = $1`, p)
		q("consents", `SELECT * FROM consents WHERE phone = $1`, p)
		t.Logf("evidence for %s:\n%s", p, strings.Join(out, "\n"))
	}
}

// patientClient posts the carrier's webhooks like the fake's own client
// but waits up to two minutes for an answer instead of ten seconds: one
// process taking every receipt of a 10,000-text campaign under the race
// detector may answer slowly, and a receipt given up on is never resent.
func patientClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = 512, 512, 512
	return &http.Client{Timeout: 2 * time.Minute, Transport: t}
}

// call makes one API request as the bootstrap admin to a process.
func call(t *testing.T, base, method, path string) response {
	t.Helper()
	e := &env{t: t, base: base, token: crashToken}
	return e.admin(method, path, nil)
}

// carrierCalls counts one process's calls to the fake carrier's API.
type carrierCalls struct {
	creates, lists atomic.Int64
}

// carrierFront serves the fake carrier to several processes, each under a
// path prefix of its own ("/survivor/2010-04-01/…"), and counts their calls.
type carrierFront struct {
	carrier atomic.Pointer[twiliotest.Carrier]
	by      map[string]*carrierCalls // fixed before serving
	// Texts with heldBody to held phones are refused as rate limited (429,
	// Twilio's 20429), whoever sends them; fixed before serving.
	held     map[string]*heldPhone
	heldBody string
	// onVictimSend, once set, runs on the victim's next text the carrier
	// accepted, with the carrier's answer, before the answer is written.
	// victimSids holds the sid of every text the victim sent.
	onVictimSend atomic.Pointer[func(accepted []byte)]
	victimSids   sync.Map
}

// sentByVictim reports whether the carrier took the text sid from the victim.
func (f *carrierFront) sentByVictim(sid string) bool {
	_, ok := f.victimSids.Load(sid)
	return ok
}

// heldPhone records the sends the carrier refused to a phone.
type heldPhone struct {
	mu    sync.Mutex
	times []time.Time
}

func (h *heldPhone) try(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.times = append(h.times, at)
}

func (h *heldPhone) tries() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.times)
}

// victimSends sets fn to run once, on the victim's next accepted text.
func (f *carrierFront) victimSends(fn func(accepted []byte)) { f.onVictimSend.Store(&fn) }

func (f *carrierFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	calls, ok := f.by[name]
	c := f.carrier.Load()
	if !ok || c == nil {
		http.Error(w, "no such carrier front", http.StatusNotFound)
		return
	}
	create := r.Method == http.MethodPost && strings.HasSuffix(rest, "/Messages.json")
	if create {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if h := f.held[form.Get("To")]; h != nil && form.Get("Body") == f.heldBody {
			h.try(time.Now())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)
			return
		}
	}
	switch {
	case create:
		calls.creates.Add(1)
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/Messages.json"):
		calls.lists.Add(1)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path, r2.URL.RawPath = "/"+rest, ""
	if create && name == "victim" {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, r2)
		var sent struct{ Sid string }
		if json.Unmarshal(rec.Body.Bytes(), &sent) == nil && sent.Sid != "" {
			f.victimSids.Store(sent.Sid, true)
		}
		if fn := f.onVictimSend.Load(); rec.Code < 300 && fn != nil && f.onVictimSend.CompareAndSwap(fn, nil) {
			(*fn)(rec.Body.Bytes())
			return // to a process that is no more
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	c.ServeHTTP(w, r2)
}

// parleyProcess is `parley serve` running as an OS process of its own: the
// test binary re-executed with childEnv set (see TestMain).
type parleyProcess struct {
	name    string
	cmd     *exec.Cmd
	logPath string // its stdout and stderr
	base    string // where it listens
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startParley starts `parley serve` against dbURL with its own log file,
// configured only through PARLEY_* variables (env adds or overrides some),
// and returns once it is ready.
func startParley(t *testing.T, name, dbURL, twilioURL, public string, lease time.Duration, env ...string) *parleyProcess {
	t.Helper()
	dir := t.TempDir()
	p := &parleyProcess{name: name, logPath: filepath.Join(dir, "parley.log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], "serve")
	p.cmd.Dir = dir
	p.cmd.Env = append(environWithoutParley(), childEnv+"=1",
		"PARLEY_ADDR=127.0.0.1:0",
		"PARLEY_DATABASE_URL="+dbURL,
		"PARLEY_PUBLIC_URL="+public,
		"PARLEY_BOOTSTRAP_TOKEN="+crashToken,
		"PARLEY_LOG_LEVEL=info",
		"PARLEY_LOG_FORMAT=json",
		"PARLEY_TWILIO_API_URL="+twilioURL,
		"PARLEY_TOKEN_FILE="+filepath.Join(dir, "token"),
		"PARLEY_OUTBOX_LEASE="+lease.String(),
		"PARLEY_SHUTDOWN_DRAIN=0s",
	)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	err = p.cmd.Start()
	logFile.Close() // the process has its own descriptor
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dump(t)
		}
	})

	deadline := time.Now().Add(90 * time.Second) // the race detector makes the start slow
	for p.base == "" {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before serving: %v", name, p.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log that it serves within 90 s", name)
		}
		if addr := servingAddr(p.log()); addr != "" {
			p.base = "http://" + addr
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 90 s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// environWithoutParley is the test's environment minus every PARLEY_*
// variable: the processes are configured by the test alone.
func environWithoutParley() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			env = append(env, kv)
		}
	}
	return env
}

// servingAddr finds the address in the process's "parley serving" log line.
func servingAddr(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Addr    string `json:"addr"`
			Message string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "parley serving" {
			return line.Addr
		}
	}
	return ""
}

func (p *parleyProcess) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// takeover is a process's reconciliation of a text whose lease expired.
type takeover struct {
	at        time.Time
	messageID string
	reached   bool // the carrier already had the text
	message   string
}

// takeovers reads the process's reconciliations from its log.
func (p *parleyProcess) takeovers() []takeover {
	var out []takeover
	sc := bufio.NewScanner(strings.NewReader(p.log()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Time      time.Time `json:"time"`
			MessageID string    `json:"message_id"`
			Message   string    `json:"message"`
		}
		if !strings.Contains(sc.Text(), "interrupted send") || json.Unmarshal(sc.Bytes(), &line) != nil ||
			!strings.HasPrefix(line.Message, "interrupted send") {
			continue
		}
		out = append(out, takeover{at: line.Time, messageID: line.MessageID, message: line.Message,
			reached: strings.Contains(line.Message, "had reached the carrier")})
	}
	return out
}

func (p *parleyProcess) exitedEarly() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// cleanExit reports whether the process exited with status 0.
func (p *parleyProcess) cleanExit() bool {
	<-p.exited
	return p.waitErr == nil
}

// stop ends the process as an operator would: SIGTERM, then SIGKILL if it
// has not finished within 30 s.
func (p *parleyProcess) stop(t *testing.T) {
	if p.exitedEarly() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// dump logs what matters of the process's log for a failed test: every
// warning and error, every line that is not JSON (a panic, the race
// detector), the reconciliations, and the last lines.
func (p *parleyProcess) dump(t *testing.T) {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	var keep []string
	for _, l := range lines {
		var line struct {
			Level   string `json:"level"`
			Message string `json:"message"`
		}
		if json.Unmarshal([]byte(l), &line) != nil || (line.Level != "info" && line.Level != "debug") ||
			strings.Contains(line.Message, "interrupted send") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 400 {
		keep = append(keep[:200], append([]string{fmt.Sprintf("… %d lines left out …", len(keep)-400)}, keep[len(keep)-200:]...)...)
	}
	tail := lines[max(0, len(lines)-40):]
	var exit error = errors.New("still running")
	if p.exitedEarly() {
		exit = p.waitErr
	}
	t.Logf("%s (exit: %v): %d log lines; warnings, errors, non-JSON lines and reconciliations:\n%s\nlast lines:\n%s",
		p.name, exit, len(lines), strings.Join(keep, "\n"), strings.Join(tail, "\n"))
}
