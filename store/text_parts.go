package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// JoinTextPart keeps a part of an inbound text and returns every part,
// in order, once all are there. The parts of one text queue on their set
// row (the upsert locks it until commit), so the last part to commit
// reads the others. Parts stay after the text is whole: a part the
// carrier delivers again finds the text whole, and the ingest that
// follows drops it as a duplicate. A reference is one byte, so a phone
// reuses it: a part that cannot belong to the kept text starts a new one
// under it (refReused).
func (db *DB) JoinTextPart(ctx context.Context, channelID parley.ID, text conversations.InboundText, at time.Time) ([]conversations.InboundText, error) {
	p := text.Part
	var parts []conversations.InboundText
	err := db.inTx(ctx, func(tx *Tx) error {
		for _, table := range []string{"text_part_sets", "retired_text_parts"} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+table+` WHERE received_at < ?`), ms(at.Add(-conversations.PartTTL))); err != nil {
				return err
			}
		}
		var retired int
		if err := tx.GetContext(ctx, &retired, tx.Rebind(`SELECT COUNT(*) FROM retired_text_parts WHERE channel_id = ? AND carrier_message_id = ?`),
			channelID, text.CarrierMessageID); err != nil || retired > 0 {
			return err // a part of a text its reference moved on from, again
		}
		const set = `INSERT INTO text_part_sets (channel_id, sender, ref, total, received_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel_id, sender, ref) DO UPDATE SET total = text_part_sets.total
RETURNING total`
		var total int
		if err := tx.GetContext(ctx, &total, tx.Rebind(set), channelID, text.From, p.Ref, p.Total, ms(at)); err != nil {
			return err
		}
		reused, err := refReused(ctx, tx, channelID, text, total)
		if err != nil {
			return err
		}
		if reused {
			if err := restartPartSet(ctx, tx, channelID, text, at); err != nil {
				return err
			}
			total = p.Total
		}
		const part = `INSERT INTO text_parts (channel_id, sender, ref, part, carrier_message_id, recipient, body, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, sender, ref, part) DO NOTHING`
		if _, err := tx.ExecContext(ctx, tx.Rebind(part), channelID, text.From, p.Ref, p.Number, text.CarrierMessageID, text.To, text.Body, ms(at)); err != nil {
			return err
		}
		var rows []struct {
			Number    int    `db:"part"`
			CarrierID string `db:"carrier_message_id"`
			To        string `db:"recipient"`
			Body      string `db:"body"`
		}
		const q = `SELECT part, carrier_message_id, recipient, body FROM text_parts
WHERE channel_id = ? AND sender = ? AND ref = ? AND part BETWEEN 1 AND ? ORDER BY part`
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), channelID, text.From, p.Ref, total); err != nil {
			return err
		}
		if len(rows) < total {
			return nil
		}
		for _, r := range rows {
			parts = append(parts, conversations.InboundText{CarrierMessageID: r.CarrierID, From: text.From, To: r.To, Body: r.Body, Segments: 1,
				Part: &conversations.TextPart{Ref: p.Ref, Number: r.Number, Total: total}})
		}
		return nil
	})
	return parts, err
}

// refReused says whether a part belongs to another text than the one kept
// under its reference: its total differs, or its place is held by a part
// of another carrier id. A part delivered again has its own id.
func refReused(ctx context.Context, tx *Tx, channelID parley.ID, text conversations.InboundText, total int) (bool, error) {
	p := text.Part
	if total != p.Total {
		return true, nil
	}
	var held []string
	const q = `SELECT carrier_message_id FROM text_parts WHERE channel_id = ? AND sender = ? AND ref = ? AND part = ?`
	if err := tx.SelectContext(ctx, &held, tx.Rebind(q), channelID, text.From, p.Ref, p.Number); err != nil {
		return false, err
	}
	return len(held) > 0 && held[0] != text.CarrierMessageID, nil
}

// restartPartSet retires the text kept under a reused reference (whole,
// it was ingested; not whole, it cannot be completed any more, as its
// sender went on to the next text) and keeps the new text's set. The
// retired parts' ids are kept as long as a part is, so that one of them
// delivered again is not taken for a part of the new text.
func restartPartSet(ctx context.Context, tx *Tx, channelID parley.ID, text conversations.InboundText, at time.Time) error {
	p := text.Part
	const retire = `INSERT INTO retired_text_parts (channel_id, carrier_message_id, received_at)
SELECT channel_id, carrier_message_id, ? FROM text_parts WHERE channel_id = ? AND sender = ? AND ref = ?
ON CONFLICT (channel_id, carrier_message_id) DO NOTHING`
	if _, err := tx.ExecContext(ctx, tx.Rebind(retire), ms(at), channelID, text.From, p.Ref); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM text_parts WHERE channel_id = ? AND sender = ? AND ref = ?`), channelID, text.From, p.Ref); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE text_part_sets SET total = ?, received_at = ? WHERE channel_id = ? AND sender = ? AND ref = ?`),
		p.Total, ms(at), channelID, text.From, p.Ref)
	return err
}
