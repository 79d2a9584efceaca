package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

const (
	benchSID    = "ACbench0000000000000000000000000000"
	benchToken  = "benchtoken000000000000000000000"
	benchNumber = "+14155550199"
	benchPublic = "https://parley.example.com"
	inboundPath = "/webhooks/twilio/messages"
)

// newBenchHandler is Parley's real HTTP handler on db with one channel.
func newBenchHandler(b testing.TB, db *store.DB) http.Handler {
	b.Helper()
	ctx := context.Background()
	clock := parley.SystemClock{}
	acc, _, err := db.CreateAccount(ctx, "bench", conversations.NewUser{Email: "a@example.com", Name: "A", Role: conversations.RoleAdmin},
		conversations.NewTokenSecret(), clock.Now())
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: acc.ID, Name: "Support", Kind: conversations.InboxSupport, CreatedAt: clock.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateChannel(ctx, conversations.Channel{AccountID: acc.ID, InboxID: inbox.ID, Carrier: conversations.CarrierTwilio,
		PhoneNumber: benchNumber, CarrierAccountID: benchSID, AuthToken: benchToken, CreatedAt: clock.Now()}); err != nil {
		b.Fatal(err)
	}
	return gateway.NewHandler(gateway.Deps{Log: zerolog.Nop(), Clock: clock, Store: db, Consent: db, PublicURL: benchPublic,
		Ingester: &conversations.Ingester{Store: db, Clock: clock}})
}

// signedInbound is a Twilio inbound webhook request as Twilio sends it.
func signedInbound(sid, from, body string) *http.Request {
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {benchSID},
		"From": {from}, "To": {benchNumber}, "Body": {body}, "NumSegments": {"1"}, "NumMedia": {"0"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}, "FromCountry": {"US"}, "ToCountry": {"US"}}
	r := httptest.NewRequest(http.MethodPost, inboundPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", twiliotest.Sign(benchToken, benchPublic+inboundPath, form))
	return r
}

// BenchmarkInboundWebhook measures one inbound text through the real
// handler: body read, channel lookup, signature check, parsing, the ingest
// transaction and its commit, and the TwiML answer. "new_thread" texts
// come from a new phone each time (contact + conversation created);
// "reply" texts land on an existing thread. "parallel" runs GOMAXPROCS×4
// concurrent webhooks of new threads.
func BenchmarkInboundWebhook(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			h := newBenchHandler(b, storetest.MustOpen(b, dialect))
			var seq atomic.Int64
			serve := func(b *testing.B, from string) {
				n := seq.Add(1)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, signedInbound(fmt.Sprintf("SM%032d", n), from, "Hi, is my order ready?"))
				if rec.Code != http.StatusOK {
					b.Fatalf("webhook answered %d: %s", rec.Code, rec.Body)
				}
			}
			b.Run("new_thread", func(b *testing.B) {
				for b.Loop() {
					serve(b, fmt.Sprintf("+1415%07d", 2000000+seq.Load()%7000000))
				}
			})
			b.Run("reply", func(b *testing.B) {
				for b.Loop() {
					serve(b, "+14155550100")
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						serve(b, fmt.Sprintf("+1628%07d", 2000000+seq.Load()%7000000))
					}
				})
			})
		})
	}
}
