package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/store/storetest"
)

// TestInterruptedSendIsReconciled plays a process that died in the middle
// of a send: its outbox row is left sending, its lease expired, and the
// text may or may not have reached the carrier. The running dispatcher
// reclaims the row, asks the carrier's own message list, and the phone
// gets the text exactly once either way; the thread shows it with the
// carrier's id and, after the receipts, delivered.
func TestInterruptedSendIsReconciled(t *testing.T) {
	tests := []struct {
		name       string
		carrierHas bool // the dead process's send got through before it died
		// its receipts came while no Parley listened: only the carrier
		// knows the text was delivered
		receiptsLost bool
		wantLog      string
	}{
		{"the carrier already has the text: recorded, not sent again", true, false, "interrupted send had reached the carrier"},
		{"the carrier delivered it, its receipts lost: recorded delivered", true, true, "interrupted send had reached the carrier"},
		{"the carrier never got it: sent once", false, false, "interrupted send never reached the carrier"},
	}
	for _, dialect := range storetest.Dialects {
		for _, tt := range tests {
			t.Run(dialect+"/"+tt.name, func(t *testing.T) {
				e := boot(t, storetest.URL(t, dialect))
				e.setupChannel(nil)
				const phone = "+16282000301"
				e.text(phone, "Is my table ready?")
				conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)[0].(map[string]any)
				convID := conv["id"].(string)

				const body = "Your table is ready"
				crashedAt := time.Now().Add(-10 * time.Second) // when the dead process claimed the row
				var earlierSid string
				if tt.carrierHas {
					earlierSid = e.sendAsTheDeadProcess(phone, body)
				}
				if tt.receiptsLost {
					e.loseReceipts(earlierSid)
				}
				msgID := e.insertInterruptedSend(convID, phone, body, crashedAt)

				var got map[string]any
				e.eventually("the interrupted text recorded with a carrier id", func() bool {
					got = e.message(convID, msgID)
					return got["carrier_message_id"] != nil
				})
				var texts []string
				for _, m := range e.carrier.MessagesTo(phone) {
					if m.Body == body {
						texts = append(texts, m.Sid)
					}
				}
				if len(texts) != 1 {
					t.Fatalf("the phone got the text %d times (%v); want exactly once", len(texts), texts)
				}
				if got["carrier_message_id"] != texts[0] {
					t.Errorf("Parley recorded carrier id %v; the carrier's text is %s", got["carrier_message_id"], texts[0])
				}
				if tt.carrierHas && texts[0] != earlierSid {
					t.Errorf("the carrier's text is %s; want the one the dead process sent, %s", texts[0], earlierSid)
				}
				var left int
				db := e.rawSQL()
				if err := db.Get(&left, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE message_id = ?`), msgID); err != nil || left != 0 {
					t.Errorf("outbox rows left for the message: %d (%v); want none", left, err)
				}
				e.eventually("the text delivered", func() bool { return e.message(convID, msgID)["status"] == "delivered" })
				// The dispatcher logs once the outcome is committed, which
				// the delivered status may show first.
				e.eventually(strconv.Quote(tt.wantLog)+" in the logs", func() bool { return strings.Contains(e.logs.String(), tt.wantLog) })
			})
		}
	}
}

// sendAsTheDeadProcess hands a text to the fake carrier as Parley's sender
// would have, receipts included, and returns the carrier's id for it.
func (e *env) sendAsTheDeadProcess(phone, body string) string {
	e.t.Helper()
	s, err := twilio.NewSender(e.main.Config.TwilioAPIURL, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := s.Send(context.Background(), campaigns.OutboundText{CarrierAccountID: accountSID, AuthToken: authToken,
		From: business, To: phone, Body: body, StatusCallbackURL: publicURL + "/webhooks/twilio/status"})
	if err != nil {
		e.t.Fatalf("send to the fake carrier: %v", err)
	}
	return res.CarrierMessageID
}

// loseReceipts waits for the carrier to deliver the text, then forgets
// the receipts Parley kept for it: as if they had come while it was down.
func (e *env) loseReceipts(sid string) {
	e.t.Helper()
	e.eventually("the carrier delivered the text", func() bool {
		for _, m := range e.carrier.Messages() {
			if m.Sid == sid {
				return m.Status == "delivered"
			}
		}
		return false
	})
	db := e.rawSQL()
	e.eventually("its receipts kept", func() bool {
		var n int
		return db.Get(&n, db.Rebind(`SELECT COUNT(*) FROM early_statuses WHERE carrier_message_id = ?`), sid) == nil && n == 2
	})
	if _, err := db.Exec(db.Rebind(`DELETE FROM early_statuses WHERE carrier_message_id = ?`), sid); err != nil {
		e.t.Fatal(err)
	}
}

// insertInterruptedSend writes what a process leaves behind when it dies
// mid-send: an outbound reply still queued in the thread, and its outbox
// row sending, claimed at claimedAt, with a lease that has expired.
func (e *env) insertInterruptedSend(convID, phone, body string, claimedAt time.Time) string {
	e.t.Helper()
	db := e.rawSQL()
	tx, err := db.Beginx()
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback()
	var conv struct {
		AccountID int64 `db:"account_id"`
		ChannelID int64 `db:"channel_id"`
	}
	if err := tx.Get(&conv, tx.Rebind(`SELECT account_id, channel_id FROM conversations WHERE id = ?`), convID); err != nil {
		e.t.Fatal(err)
	}
	at := claimedAt.Add(-time.Second).UnixMilli()
	var msgID int64
	if err := tx.Get(&msgID, tx.Rebind(`INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, status, segments, encoding, created_at, updated_at)
VALUES (?, ?, ?, 'outbound', 'text', ?, 'queued', 1, 'GSM-7', ?, ?) RETURNING id`), conv.AccountID, convID, conv.ChannelID, body, at, at); err != nil {
		e.t.Fatal(err)
	}
	if _, err := tx.Exec(tx.Rebind(`INSERT INTO outbox (account_id, message_id, channel_id, to_phone, purpose, priority, state, available_at,
    lease_expires_at, claimed_at, created_at, updated_at)
VALUES (?, ?, ?, ?, 'reply', 1, 'sending', ?, ?, ?, ?, ?)`), conv.AccountID, msgID, conv.ChannelID, phone, at,
		time.Now().Add(-time.Second).UnixMilli(), claimedAt.UnixMilli(), at, claimedAt.UnixMilli()); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
	e.main.Dispatcher.Notify()
	return strconv.FormatInt(msgID, 10)
}

// message returns one message of a conversation as the API shows it.
func (e *env) message(convID, msgID string) map[string]any {
	e.t.Helper()
	for _, m := range e.must(200, e.admin("GET", "/v1/conversations/"+convID+"/messages?limit=100", nil))["data"].([]any) {
		if m := m.(map[string]any); m["id"] == msgID {
			return m
		}
	}
	e.t.Fatalf("message %s not in conversation %s", msgID, convID)
	return nil
}
