package store

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// appendEvents is one statement on PostgreSQL: the head moved, the events
// inserted after it, their webhook deliveries queued from the inserted
// rows (no read of the log) and the notification sent on commit. The head
// row stays locked until the commit, so this is the transaction's last
// statement and one round trip.
func (postgresSQL) appendEvents(ctx context.Context, tx *Tx, accountID parley.ID, evs []events.Event) (int64, error) {
	n := len(evs)
	rows, vargs := eventValues(evs, func(i int) string {
		return fmt.Sprintf("(%d, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS JSONB), CAST(? AS BIGINT))", i+1)
	})
	at := ms(evs[n-1].At)
	q := `WITH h AS (
    INSERT INTO event_heads (account_id, seq) VALUES (?, ?)
    ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq RETURNING seq),
v (n, type, conversation_id, subject_id, actor_type, actor_id, data, created_at) AS (VALUES ` + rows + `),
e AS (
    INSERT INTO events (account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
    SELECT ?, h.seq - ? + v.n, v.type, v.conversation_id, v.subject_id, v.actor_type, v.actor_id, v.data, v.created_at FROM h, v
    RETURNING seq, type),
d AS (
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, created_at)
    SELECT s.account_id, s.endpoint_id, e.seq, e.type, ?, ? FROM e
    JOIN webhook_subscriptions s ON s.account_id = ? AND s.type = e.type
    JOIN webhook_endpoints ep ON ep.id = s.endpoint_id AND ep.disabled_at IS NULL)
SELECT h.seq, pg_notify(?, CAST(? AS TEXT) || ':' || CAST(h.seq - ? + 1 AS TEXT) || ':' || CAST(h.seq AS TEXT)) FROM h`
	args := append([]any{accountID, n}, vargs...)
	args = append(args, accountID, n, at, at, accountID, eventsChannel, accountID, n)
	var last int64
	var notified string
	err := tx.QueryRowxContext(ctx, tx.Rebind(q), args...).Scan(&last, &notified)
	return last, err
}
