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
// follows drops it as a duplicate.
func (db *DB) JoinTextPart(ctx context.Context, channelID parley.ID, text conversations.InboundText, at time.Time) ([]conversations.InboundText, error) {
	p := text.Part
	var parts []conversations.InboundText
	err := db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM text_part_sets WHERE received_at < ?`), ms(at.Add(-conversations.PartTTL))); err != nil {
			return err
		}
		const set = `INSERT INTO text_part_sets (channel_id, sender, ref, total, received_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel_id, sender, ref) DO UPDATE SET total = text_part_sets.total
RETURNING total`
		var total int
		if err := tx.GetContext(ctx, &total, tx.Rebind(set), channelID, text.From, p.Ref, p.Total, ms(at)); err != nil {
			return err
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
