package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func TestApplyStatus(t *testing.T) {
	t.Parallel()
	code := func(c int) *int { return &c }
	type receipt struct {
		status conversations.MessageStatus
		code   *int
	}
	tests := []struct {
		name     string
		receipts []receipt
		want     conversations.MessageStatus
		wantCode *int
	}{
		{"sent then delivered", []receipt{{conversations.MessageSent, nil}, {conversations.MessageDelivered, nil}}, conversations.MessageDelivered, nil},
		{"delivered then a late sent", []receipt{{conversations.MessageDelivered, nil}, {conversations.MessageSent, nil}}, conversations.MessageDelivered, nil},
		{"undelivered keeps its code", []receipt{{conversations.MessageSent, nil}, {conversations.MessageUndelivered, code(30003)}}, conversations.MessageUndelivered, code(30003)},
		{"a late sent keeps undelivered's code", []receipt{{conversations.MessageUndelivered, code(30003)}, {conversations.MessageSent, nil}}, conversations.MessageUndelivered, code(30003)},
		{"the first final status sticks", []receipt{{conversations.MessageDelivered, nil}, {conversations.MessageUndelivered, code(30005)}}, conversations.MessageDelivered, nil},
		{"failed", []receipt{{conversations.MessageFailed, code(30008)}}, conversations.MessageFailed, code(30008)},
		{"queued never moves sending back", []receipt{{conversations.MessageQueued, nil}}, conversations.MessageSending, nil},
		{"an unknown status changes nothing", []receipt{{conversations.MessageSent, nil}, {"read", nil}}, conversations.MessageSent, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				reply := a.queueHelp(t, alice)
				sendAs(t, db, "SMout", t0.Add(time.Second))
				var got conversations.Message
				for i, r := range tt.receipts {
					var err error
					got, err = db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: sidA,
						CarrierMessageID: "SMout", Status: r.status, ErrorCode: r.code, At: t0.Add(time.Duration(i+2) * time.Second)})
					if err != nil {
						t.Fatalf("ApplyStatus %s: %v", r.status, err)
					}
				}
				stored := getMessage(t, db, a.account.ID, reply.ConversationID, reply.ID)
				for _, m := range []conversations.Message{got, stored} {
					if m.ID != reply.ID || m.Status != tt.want || !sameCode(m.ErrorCode, tt.wantCode) {
						t.Errorf("message = %s (code %v); want %s (code %v)", m.Status, deref(m.ErrorCode), tt.want, deref(tt.wantCode))
					}
				}
			})
		})
	}
}

// sendAs claims the only queued item and records the carrier's acceptance.
func sendAs(t testing.TB, db *store.DB, carrierID string, at time.Time) campaigns.OutboxItem {
	t.Helper()
	it := claimOne(t, db, at)
	if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: carrierID, Status: "sending"}, at); err != nil {
		t.Fatal(err)
	}
	return it
}

func sameCode(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestApplyStatusNotFound(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		newTenant(t, db, sidB, bizB)
		a.queueHelp(t, alice)
		sendAs(t, db, "SMout", t0)
		a.receive(t, text{from: bob, body: "an inbound text", sid: "SMin"})

		tests := []struct {
			name             string
			carrier, account string
			sid              string
		}{
			{"unknown sid", conversations.CarrierTwilio, sidA, "SMnope"},
			{"sid of another carrier account", conversations.CarrierTwilio, sidB, "SMout"},
			{"sid of another carrier", "telnyx", sidA, "SMout"},
			{"sid of an inbound text", conversations.CarrierTwilio, sidA, "SMin"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: tt.carrier, CarrierAccountID: tt.account,
					CarrierMessageID: tt.sid, Status: conversations.MessageDelivered, At: t0})
				wantKind(t, err, parley.ENOTFOUND)
			})
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE status = 'delivered'`); n != 0 {
			t.Errorf("%d messages delivered by receipts that matched nothing", n)
		}
	})
}

// A receipt may beat the carrier's API answer: it waits, and is applied
// when the dispatcher records the carrier id.
func TestApplyStatusBeforeMarkSent(t *testing.T) {
	t.Parallel()
	code := 30003
	tests := []struct {
		name     string
		receipts []conversations.StatusUpdate
		want     conversations.MessageStatus
		wantCode *int
	}{
		{"delivered before the answer", []conversations.StatusUpdate{
			{CarrierAccountID: sidA, Status: conversations.MessageSent},
			{CarrierAccountID: sidA, Status: conversations.MessageDelivered},
		}, conversations.MessageDelivered, nil},
		{"out of order before the answer", []conversations.StatusUpdate{
			{CarrierAccountID: sidA, Status: conversations.MessageUndelivered, ErrorCode: &code},
			{CarrierAccountID: sidA, Status: conversations.MessageSent},
		}, conversations.MessageUndelivered, &code},
		{"another carrier account's receipt is not ours", []conversations.StatusUpdate{
			{CarrierAccountID: sidB, Status: conversations.MessageDelivered},
		}, conversations.MessageSending, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				reply := a.queueHelp(t, alice)
				it := claimOne(t, db, t0)
				for i, u := range tt.receipts {
					u.ChannelID, u.Carrier, u.CarrierMessageID, u.At = a.channel.ID, conversations.CarrierTwilio, "SMearly", t0.Add(time.Duration(i)*time.Millisecond)
					_, err := db.ApplyStatus(ctx, u)
					wantKind(t, err, parley.ENOTFOUND)
				}
				if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMearly", Status: "sending"}, t0.Add(time.Second)); err != nil {
					t.Fatalf("MarkSent: %v", err)
				}
				m := getMessage(t, db, a.account.ID, reply.ConversationID, reply.ID)
				if m.Status != tt.want || !sameCode(m.ErrorCode, tt.wantCode) || m.CarrierMessageID != "SMearly" {
					t.Errorf("message = %s (code %v); want %s (code %v)", m.Status, deref(m.ErrorCode), tt.want, deref(tt.wantCode))
				}
				// Later receipts still move it forward from there.
				got, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: sidA,
					CarrierMessageID: "SMearly", Status: conversations.MessageSent, At: t0.Add(2 * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
				if want := max(tt.want.Rank(), conversations.MessageSent.Rank()); got.Status.Rank() != want {
					t.Errorf("after a later sent: %s", got.Status)
				}
			})
		})
	}
}

// A receipt the carrier's adapter calls unsubscribed (Telnyx sends its
// 40300 in a receipt, not in the send's answer) records the recipient's
// opt-out, as a refused send does, whether it arrives after the carrier's
// answer was recorded or before (parked); the same code without the flag
// does not.
func TestUnsubscribedReceiptRecordsTheOptOut(t *testing.T) {
	t.Parallel()
	for _, early := range []bool{false, true} {
		for _, unsubscribed := range []bool{true, false} {
			t.Run(fmt.Sprintf("early=%v/unsubscribed=%v", early, unsubscribed), func(t *testing.T) {
				t.Parallel()
				forEachDB(t, func(t *testing.T, db *store.DB) {
					a := newTenant(t, db, sidA, bizA)
					a.queueHelp(t, alice)
					it := claimOne(t, db, t0)
					code := 40300
					receipt := func() {
						_, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: conversations.CarrierTwilio,
							CarrierAccountID: sidA, CarrierMessageID: "SMblocked", Status: conversations.MessageFailed, ErrorCode: &code,
							Unsubscribed: unsubscribed, At: t0.Add(2 * time.Second)})
						if err != nil && !(early && parley.IsKind(err, parley.ENOTFOUND)) {
							t.Fatal(err)
						}
					}
					if early {
						receipt()
					}
					if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMblocked", Status: "sending"}, t0.Add(time.Second)); err != nil {
						t.Fatal(err)
					}
					if !early {
						receipt()
					}
					consent, err := db.GetConsent(ctx, a.account.ID, alice)
					if err != nil && !parley.IsKind(err, parley.ENOTFOUND) {
						t.Fatal(err)
					}
					if consent.OptedOut != unsubscribed {
						t.Errorf("opted out = %v", consent.OptedOut)
					}
				})
			})
		}
	}
}
