package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// t0 is when every test's story starts.
var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

var ctx = context.Background()

// forEachDB runs fn on a fresh, migrated SQLite and PostgreSQL database.
func forEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	storetest.ForEachDB(t, fn)
}

// Carrier account ids, shaped like Twilio's.
var (
	sidA = "AC" + strings.Repeat("a", 32)
	sidB = "AC" + strings.Repeat("b", 32)
	mgA  = "MG" + strings.Repeat("a", 32)
)

// Business numbers.
const (
	bizA  = "+14155550100"
	bizA2 = "+14155550101"
	bizB  = "+14155550200"
)

// tenant is an account with an admin, an inbox and a single-number channel.
type tenant struct {
	db      *store.DB
	account conversations.Account
	admin   conversations.User
	inbox   conversations.Inbox
	channel conversations.Channel
}

var tenantSeq atomic.Int64

// newTenant creates an account whose channel is number on carrier account sid.
func newTenant(t testing.TB, db *store.DB, sid, number string) *tenant {
	t.Helper()
	n := tenantSeq.Add(1)
	acc, admin, err := db.CreateAccount(ctx, fmt.Sprintf("Acme %d", n),
		conversations.NewUser{Email: fmt.Sprintf("admin%d@example.com", n), Name: "Ada Admin", Role: conversations.RoleAdmin},
		conversations.NewTokenSecret(), t0)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: acc.ID, Name: "Support", Kind: conversations.InboxSupport, CreatedAt: t0})
	if err != nil {
		t.Fatalf("CreateInbox: %v", err)
	}
	tn := &tenant{db: db, account: acc, admin: admin, inbox: inbox}
	tn.channel = tn.addChannel(t, conversations.Channel{CarrierAccountID: sid, PhoneNumber: number})
	return tn
}

// addChannel connects a Twilio channel to the tenant's inbox unless c names another.
func (tn *tenant) addChannel(t testing.TB, c conversations.Channel) conversations.Channel {
	t.Helper()
	c.AccountID = tn.account.ID
	if c.InboxID == 0 {
		c.InboxID = tn.inbox.ID
	}
	c.Carrier = conversations.CarrierTwilio
	if c.AuthToken == "" {
		c.AuthToken = "token-" + c.CarrierAccountID[:6]
	}
	c.CreatedAt = t0
	ch, err := tn.db.CreateChannel(ctx, c)
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	return ch
}

var sidSeq atomic.Int64

// newSID returns a fresh carrier message id.
func newSID(prefix string) string {
	return fmt.Sprintf("%s%032d", prefix, sidSeq.Add(1))
}

// text is an inbound text as the carrier adapter hands it over.
type text struct {
	from, to, body, service string
	sid                     string // "" for a fresh one
	noSID                   bool   // send no carrier message id at all
	media                   []string
	segments                int
	at                      time.Time // zero for t0
	carrierAccount          string    // "" for the tenant's channel's
}

// receive routes an inbound text like the webhook does and ingests it.
func (tn *tenant) receive(t testing.TB, in text) conversations.IngestResult {
	t.Helper()
	res, err := tn.tryReceive(in)
	if err != nil {
		t.Fatalf("ingest %q from %s: %v", in.body, in.from, err)
	}
	return res
}

func (tn *tenant) tryReceive(in text) (conversations.IngestResult, error) {
	if in.to == "" {
		in.to = tn.channel.PhoneNumber
	}
	if in.sid == "" && !in.noSID {
		in.sid = newSID("SM")
	}
	if in.at.IsZero() {
		in.at = t0
	}
	if in.carrierAccount == "" {
		in.carrierAccount = tn.channel.CarrierAccountID
	}
	route, err := tn.db.FindInboundRoute(ctx, conversations.CarrierTwilio, in.carrierAccount, in.to, in.service)
	if err != nil {
		return conversations.IngestResult{}, fmt.Errorf("FindInboundRoute: %w", err)
	}
	msg := conversations.InboundText{CarrierMessageID: in.sid, From: in.from, To: in.to, Body: in.body,
		MediaURLs: in.media, Segments: in.segments}
	return tn.db.Ingest(ctx, conversations.Plan(route, msg, in.at))
}

// count runs a COUNT query written with "?" placeholders.
func count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().GetContext(ctx, &n, db.SQL().Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// exec runs a statement written with "?" placeholders: the test's way to
// reach states no store method produces yet (assignment, resolve, close).
func exec(t testing.TB, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(ctx, db.SQL().Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// eventTypes lists a conversation's activity log, oldest first.
func eventTypes(t testing.TB, db *store.DB, convID parley.ID) []string {
	t.Helper()
	var types []string
	err := db.SQL().SelectContext(ctx, &types,
		db.SQL().Rebind(`SELECT type FROM conversation_events WHERE conversation_id = ? ORDER BY id`), convID)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return types
}

// wantKind fails unless err is a parley error of the kind (and code, if given).
func wantKind(t testing.TB, err error, kind string, code ...string) {
	t.Helper()
	if !parley.IsKind(err, kind) {
		t.Fatalf("err = %v; want kind %s", err, kind)
	}
	if len(code) > 0 {
		var pe *parley.Error
		errors.As(err, &pe)
		if pe.Code != code[0] {
			t.Fatalf("err code = %q; want %q (%v)", pe.Code, code[0], err)
		}
	}
}
