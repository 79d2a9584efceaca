package store

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// A batch of the carrier's receipts (group commit) is applied
// set-wise: one statement finds and locks every receipt's message, one
// moves their statuses, one settles their status checks and one reads
// them back, where one receipt at a time took five.

// receiptTarget is the message a receipt of the batch is about.
type receiptTarget struct {
	I              int    `db:"i"` // the receipt's place in the batch
	ID             int64  `db:"id"`
	AccountID      int64  `db:"account_id"`
	ConversationID int64  `db:"conversation_id"`
	Status         string `db:"status"`
	Signed         bool   `db:"signed"`
}

// statusMove is where a message's status ends after a batch's receipts.
type statusMove struct {
	status conversations.MessageStatus
	code   *int
	at     int64
	// unsubscribed: the carrier failed the text because the recipient
	// opted out with it.
	unsubscribed bool
}

// applyStatusesTogether applies receipts (a batch sorted by carrier id, or
// one) as if one after the other: each receipt's refusal stays its own
// (c.err), a receipt for an id not yet recorded is parked.
func (db *DB) applyStatusesTogether(ctx context.Context, tx *Tx, batch []*statusCall) error {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.update.CarrierMessageID
	}
	if err := db.dialect.lockCarrierID(ctx, tx, ids...); err != nil {
		return err
	}
	targets, err := receiptTargets(ctx, tx, batch)
	if err != nil {
		return err
	}
	moves := map[int64]*statusMove{}
	var order []int64
	for i, c := range batch {
		t, ok := targets[i]
		switch {
		case !ok:
			if err := parkStatus(ctx, tx, c.update); err != nil {
				return err
			}
			c.err = parley.Errorf(parley.ENOTFOUND, "no outbound message with carrier id %s (yet)", c.update.CarrierMessageID)
			continue
		case !t.Signed:
			c.err = parley.Errorf(parley.EFORBIDDEN, "the receipt is not signed with the credentials of the channel that sent the text")
			continue
		}
		m := moves[t.ID]
		if m == nil {
			m = &statusMove{status: conversations.MessageStatus(t.Status)}
		}
		// Receipts arrive out of order, and delivered never goes back.
		if c.update.Status.Rank() <= m.status.Rank() {
			continue
		}
		if moves[t.ID] == nil {
			moves[t.ID], order = m, append(order, t.ID)
		}
		m.status, m.at = c.update.Status, ms(c.update.At)
		if c.update.ErrorCode != nil {
			m.code = c.update.ErrorCode
		}
		m.unsubscribed = c.update.Unsubscribed
		tx.recordMessageStatus(parley.ID(t.AccountID), parley.ID(t.ConversationID), parley.ID(t.ID), string(c.update.Status), c.update.At)
	}
	if err := moveStatuses(ctx, tx, moves, order); err != nil {
		return err
	}
	if err := optOutUnsubscribed(ctx, tx, moves, order); err != nil {
		return err
	}
	return readBackReceipts(ctx, tx, batch, targets)
}

// optOutUnsubscribed records the opt-outs of recipients a receipt said
// unsubscribed at the carrier, as a refused send does.
func optOutUnsubscribed(ctx context.Context, tx *Tx, moves map[int64]*statusMove, order []int64) error {
	for _, id := range order {
		m := moves[id]
		if !m.unsubscribed {
			continue
		}
		code := 0
		if m.code != nil {
			code = *m.code
		}
		if err := optOutRecipient(ctx, tx, parley.ID(id), code, fromMS(m.at)); err != nil {
			return err
		}
	}
	return nil
}

// receiptTargets finds and locks each receipt's message, by its place in
// the batch; a receipt whose message is not recorded has none.
func receiptTargets(ctx context.Context, tx *Tx, batch []*statusCall) (map[int]receiptTarget, error) {
	batchRows := make([][]any, len(batch))
	for i, c := range batch {
		u := c.update
		batchRows[i] = []any{i, u.CarrierMessageID, u.ChannelID, u.Carrier, u.CarrierAccountID}
	}
	var rows []receiptTarget
	if err := selectBatch(ctx, tx, &rows, receiptTargetsQuery(dialectOf(tx)), batchRows); err != nil {
		return nil, err
	}
	out := make(map[int]receiptTarget, len(rows))
	for _, r := range rows {
		if _, dup := out[r.I]; !dup {
			out[r.I] = r
		}
	}
	return out, nil
}

// receiptTargetsQuery finds and locks the messages of a batch of
// receipts by their carrier ids. signed: the receipt was verified with the
// webhook credential of the text's channel (as applyStatus says).
func receiptTargetsQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "i INTEGER", "carrier_id TEXT", "channel_id BIGINT", "carrier TEXT", "carrier_account_id TEXT") + `
SELECT v.i, m.id, m.account_id, m.conversation_id, m.status, ` + webhookKey("c") + ` = ` + webhookKey("r") + ` AS signed
FROM v` + d.lookupJoin("messages", "m", "m.carrier_message_id = v.carrier_id AND m.direction = 'outbound'") + `
JOIN channels c ON c.id = m.channel_id AND c.carrier = v.carrier AND c.carrier_account_id = v.carrier_account_id
JOIN channels r ON r.id = v.channel_id` + d.forUpdateOf("m")
}

// moveStatuses writes the statuses the batch moved, and ends the status
// checks of the texts now delivered or past it.
func moveStatuses(ctx context.Context, tx *Tx, moves map[int64]*statusMove, order []int64) error {
	if len(order) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(order))
	var settled []any
	for _, id := range order {
		m := moves[id]
		rows = append(rows, []any{id, string(m.status), m.code, m.at})
		if m.status.Rank() >= conversations.MessageDelivered.Rank() {
			settled = append(settled, id)
		}
	}
	if err := execBatch(ctx, tx, moveStatusesQuery(dialectOf(tx)), rows); err != nil {
		return err
	}
	if len(settled) == 0 {
		return nil
	}
	return execIn(ctx, tx, `DELETE FROM status_checks WHERE message_id IN (?)`, settled)
}

// moveStatusesQuery writes a batch of messages' new statuses.
func moveStatusesQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT", "status TEXT", "error_code INTEGER", "at BIGINT") +
		` UPDATE messages SET status = v.status, error_code = COALESCE(v.error_code, messages.error_code), updated_at = v.at
FROM v WHERE messages.id = v.id`
}

// readBackReceipts gives each applied receipt its message as it now is.
func readBackReceipts(ctx context.Context, tx *Tx, batch []*statusCall, targets map[int]receiptTarget) error {
	var ids []any
	for i, c := range batch {
		if t, ok := targets[i]; ok && c.err == nil {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := selectIn[messageRow](ctx, tx, `SELECT `+messageColumns+` FROM messages WHERE id IN (?)`, ids)
	if err != nil {
		return err
	}
	byID := make(map[parley.ID]conversations.Message, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return err
		}
		byID[m.ID] = m
	}
	for i, c := range batch {
		if t, ok := targets[i]; ok && c.err == nil {
			c.msg = byID[parley.ID(t.ID)]
		}
	}
	return nil
}

// earlyStatus is a receipt parked before its text's carrier id was
// recorded, with the token of the channel that verified it.
type earlyStatus struct {
	CarrierMessageID string `db:"carrier_message_id"`
	CarrierAccount   string `db:"carrier_account_id"`
	AuthToken        string `db:"auth_token"`
	Status           string `db:"status"`
	ErrorCode        *int   `db:"error_code"`
	ReceivedAt       int64  `db:"received_at"`
	Unsubscribed     bool   `db:"unsubscribed"`
}

// applyEarlyStatusesTogether applies the receipts parked for texts just
// recorded (a batch, or one), then forgets them: one statement finds
// them, and only when there are any, a few more move the statuses and
// delete them.
func applyEarlyStatusesTogether(ctx context.Context, tx *Tx, batch []*sentCall, carrierIDs []string) error {
	early, err := selectIn[earlyStatus](ctx, tx, `SELECT e.carrier_message_id, e.carrier_account_id, `+webhookKey("v")+` AS auth_token, e.status, e.error_code, e.received_at, e.unsubscribed
FROM early_statuses e JOIN channels v ON v.id = e.channel_id WHERE e.carrier_message_id IN (?) ORDER BY e.id`, carrierIDs)
	if err != nil || len(early) == 0 {
		return err
	}
	var ids []any
	var forget [][]any
	for _, c := range batch {
		ids = append(ids, c.item.MessageID)
		forget = append(forget, []any{c.sent.CarrierMessageID, c.item.Text.CarrierAccountID})
	}
	convs, err := selectIn[struct {
		ID             int64 `db:"id"`
		ConversationID int64 `db:"conversation_id"`
	}](ctx, tx, `SELECT id, conversation_id FROM messages WHERE id IN (?)`, ids)
	if err != nil {
		return err
	}
	convOf := make(map[int64]int64, len(convs))
	for _, c := range convs {
		convOf[c.ID] = c.ConversationID
	}
	moves := map[int64]*statusMove{}
	var order []int64
	for _, c := range batch {
		id := int64(c.item.MessageID)
		for _, e := range early {
			// Only receipts verified with the token the text was sent
			// with apply: another channel claiming the same carrier
			// account must not decide what became of this one's text.
			if e.CarrierMessageID != c.sent.CarrierMessageID || e.CarrierAccount != c.item.Text.CarrierAccountID || e.AuthToken != textWebhookKey(c.item.Text) {
				continue
			}
			m := moves[id]
			if m == nil {
				m = &statusMove{status: conversations.MessageStatus(c.sent.Status)}
			}
			status := conversations.MessageStatus(e.Status)
			if status.Rank() <= m.status.Rank() {
				continue
			}
			if moves[id] == nil {
				moves[id], order = m, append(order, id)
			}
			m.status, m.at = status, e.ReceivedAt
			if e.ErrorCode != nil {
				m.code = e.ErrorCode
			}
			m.unsubscribed = e.Unsubscribed
			tx.recordMessageStatus(c.item.AccountID, parley.ID(convOf[id]), c.item.MessageID, e.Status, fromMS(e.ReceivedAt))
		}
	}
	if err := moveStatuses(ctx, tx, moves, order); err != nil {
		return err
	}
	if err := optOutUnsubscribed(ctx, tx, moves, order); err != nil {
		return err
	}
	q := `WITH ` + dialectOf(tx).batchRows("f", "carrier_id TEXT", "carrier_account_id TEXT") + `
DELETE FROM early_statuses WHERE (carrier_message_id, carrier_account_id) IN (SELECT carrier_id, carrier_account_id FROM f)`
	return execBatch(ctx, tx, q, forget)
}
