package store

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// appendEvents is two statements on SQLite: the head moved, then the
// events inserted after it. SQLite has one writer, so holding the head to
// the commit costs nothing. The events_fan_out trigger (migration 00025)
// books their webhook deliveries: SQLite parses a statement each time it
// runs, a trigger once with the schema, and an account without endpoints
// then costs one index probe per event, and does not say how many it
// booked.
func (sqliteSQL) appendEvents(ctx context.Context, tx *Tx, accountID parley.ID, evs []events.Event) (int64, int, error) {
	n := int64(len(evs))
	var last int64
	if err := tx.QueryRowxContext(ctx, `INSERT INTO event_heads (account_id, seq) VALUES (?, ?)
ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq RETURNING seq`, accountID, n).Scan(&last); err != nil {
		return 0, 0, err
	}
	q := `WITH ` + sqliteDialect.batchRows("v", eventBatchColumns...) + `
INSERT INTO events (account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
SELECT account_id, ? + i, type, conversation_id, subject_id, actor_type, actor_id, data, created_at FROM v`
	return last, events.DeliveriesUnknown, execBatch(ctx, tx, q, eventRows(accountID, evs), last-n)
}
