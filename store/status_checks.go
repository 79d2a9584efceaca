package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// statusChecksQuery books a status check of its own for each text of a
// batch still on its way.
func statusChecksQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT", "at BIGINT", "next_at BIGINT") + `
INSERT INTO status_checks (message_id, accepted_at, checks, next_check_at)
SELECT m.id, v.at, 0, v.next_at FROM v` + d.lookupJoin("messages", "m", "m.id = v.id") + ` WHERE m.status IN ('sending', 'sent')
ON CONFLICT (message_id) DO NOTHING`
}

// scheduleStatusChecks books the first lookup at the carrier of the texts
// it accepted together, should no final status come first
// (campaigns.FirstStatusCheck): one row for the batch, which
// unfoldStatusChecks turns into a row a text still waiting when it is due.
func scheduleStatusChecks(ctx context.Context, tx *Tx, batch []*sentCall) error {
	first := batch[0].at
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = int64(c.item.MessageID)
		if c.at.Before(first) {
			first = c.at
		}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO status_check_batches (accepted_at, next_check_at, message_ids) VALUES (?, ?, ?)`),
		ms(first), ms(campaigns.FirstStatusCheck(first)), string(list))
	return err
}

// unfoldStatusChecks books a lookup of its own for each text of up to
// limit batches due by now that is still without a final status, and
// forgets the batches. PostgreSQL's pollers skip each other's batches.
func unfoldStatusChecks(ctx context.Context, tx *Tx, now time.Time, limit int) error {
	d := dialectOf(tx)
	var due []struct {
		ID          int64  `db:"id"`
		AcceptedAt  int64  `db:"accepted_at"`
		NextCheckAt int64  `db:"next_check_at"`
		MessageIDs  string `db:"message_ids"`
	}
	pick := `SELECT id, accepted_at, next_check_at, message_ids FROM status_check_batches WHERE next_check_at <= ?
ORDER BY next_check_at, id LIMIT ?` + d.skipLocked()
	if err := tx.SelectContext(ctx, &due, tx.Rebind(pick), ms(now), limit); err != nil || len(due) == 0 {
		return err
	}
	var rows [][]any
	batches := make([]any, len(due))
	for i, b := range due {
		var ids []int64
		if err := json.Unmarshal([]byte(b.MessageIDs), &ids); err != nil {
			return fmt.Errorf("status check batch %d: %w", b.ID, err)
		}
		for _, id := range ids {
			rows = append(rows, []any{id, b.AcceptedAt, b.NextCheckAt})
		}
		batches[i] = b.ID
	}
	if err := execBatch(ctx, tx, statusChecksQuery(d), rows); err != nil {
		return err
	}
	return execIn(ctx, tx, `DELETE FROM status_check_batches WHERE id IN (?)`, batches)
}

// settleStatusCheck forgets a text's lookup once its status is final.
func settleStatusCheck(ctx context.Context, tx *Tx, msgID parley.ID, status conversations.MessageStatus) error {
	if status.Rank() < conversations.MessageDelivered.Rank() {
		return nil
	}
	return forgetStatusCheck(ctx, tx, msgID)
}

// forgetStatusCheck ends a text's lookups.
func forgetStatusCheck(ctx context.Context, tx *Tx, msgID parley.ID) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM status_checks WHERE message_id = ?`), msgID)
	return err
}

// ClaimStatusChecks takes up to limit texts whose lookup is due by now,
// moving their next check to now+lease so that no other poller takes them
// meanwhile. PostgreSQL pollers skip each other's rows; SQLite has one
// writer.
func (db *DB) ClaimStatusChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]campaigns.StatusCheck, error) {
	pick := `SELECT message_id FROM status_checks WHERE next_check_at <= ? ORDER BY next_check_at, message_id LIMIT ?` + db.dialect.skipLocked()
	const claim = `UPDATE status_checks SET next_check_at = ? WHERE message_id IN (?)`
	const load = `SELECT s.message_id, s.accepted_at, s.checks, m.carrier_message_id, m.channel_id, c.carrier, c.carrier_options, c.carrier_account_id, c.auth_token
FROM status_checks s JOIN messages m ON m.id = s.message_id JOIN channels c ON c.id = m.channel_id
WHERE s.message_id IN (?) ORDER BY s.message_id`
	var out []campaigns.StatusCheck
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := unfoldStatusChecks(ctx, tx, now, limit); err != nil {
			return err
		}
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(pick), ms(now), limit); err != nil || len(ids) == 0 {
			return err
		}
		if err := execIn(ctx, tx, claim, ms(now.Add(lease)), ids); err != nil {
			return err
		}
		q, args, err := rebindIn(tx, load, ids)
		if err != nil {
			return err
		}
		var rows []struct {
			MessageID        int64  `db:"message_id"`
			AcceptedAt       int64  `db:"accepted_at"`
			Checks           int    `db:"checks"`
			CarrierMessageID string `db:"carrier_message_id"`
			ChannelID        int64  `db:"channel_id"`
			Carrier          string `db:"carrier"`
			CarrierOptions   string `db:"carrier_options"`
			CarrierAccountID string `db:"carrier_account_id"`
			AuthToken        string `db:"auth_token"`
		}
		if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
			return err
		}
		for _, r := range rows {
			out = append(out, campaigns.StatusCheck{MessageID: parley.ID(r.MessageID), CarrierMessageID: r.CarrierMessageID,
				AcceptedAt: fromMS(r.AcceptedAt), Checks: r.Checks,
				Text: campaigns.OutboundText{MessageID: parley.ID(r.MessageID), Carrier: r.Carrier, Options: carrierOptions(r.CarrierOptions),
					CarrierAccountID: r.CarrierAccountID, AuthToken: r.AuthToken}})
		}
		return nil
	})
	return out, translate(err)
}

// optOutRecipient records that the recipient of message msgID opted out
// at the carrier, which failed the text with code.
func optOutRecipient(ctx context.Context, tx *Tx, msgID parley.ID, code int, at time.Time) error {
	var to struct {
		AccountID int64  `db:"account_id"`
		Phone     string `db:"contact_phone"`
	}
	const q = `SELECT m.account_id, cv.contact_phone FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE m.id = ?`
	if err := tx.GetContext(ctx, &to, tx.Rebind(q), msgID); err != nil {
		return err
	}
	return optOutAtCarrier(ctx, tx, parley.ID(to.AccountID), to.Phone, code, at)
}

// RecordStatusCheck moves the text's status forward to what the carrier
// said, as a status callback would, and books the next lookup at next, or
// none when next is zero or the status is final.
func (db *DB) RecordStatusCheck(ctx context.Context, c campaigns.StatusCheck, s campaigns.CarrierStatus, next time.Time, at time.Time) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		// Serialised with the text's status callbacks, as they are with
		// each other.
		if err := db.dialect.lockCarrierID(ctx, tx, c.CarrierMessageID); err != nil {
			return err
		}
		if s.Status != "" {
			if err := advanceStatus(ctx, tx, c.MessageID, s.Status, s.ErrorCode, at); err != nil {
				return err
			}
		}
		if s.Unsubscribed {
			code := 0
			if s.ErrorCode != nil {
				code = *s.ErrorCode
			}
			if err := optOutRecipient(ctx, tx, c.MessageID, code, at); err != nil {
				return err
			}
		}
		if next.IsZero() {
			return forgetStatusCheck(ctx, tx, c.MessageID)
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE status_checks SET checks = checks + 1, next_check_at = ? WHERE message_id = ?`),
			ms(next), c.MessageID)
		return err
	})
	return translate(err)
}
