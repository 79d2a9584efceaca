package store

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// appendEvents is one statement on PostgreSQL: the head moved, the events
// inserted after it, their webhook deliveries booked and counted, and the
// other instances notified (PostgreSQL delivers it at the commit, in
// commit order). One round trip fewer while the head is held.
func (postgresSQL) appendEvents(ctx context.Context, tx *Tx, accountID parley.ID, evs []events.Event) (int64, int, error) {
	q := `WITH ` + postgresDialect.batchRows("v", eventBatchColumns...) + `,
h AS (
    INSERT INTO event_heads (account_id, seq) VALUES (?, ?)
    ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq RETURNING account_id, seq),
first AS (SELECT account_id, seq - ? AS before FROM h),
written AS (
    INSERT INTO events (account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
    SELECT v.account_id, first.before + v.i, type, conversation_id, subject_id, actor_type, actor_id, ` + postgresDialect.jsonValue("data") + `, created_at
    FROM v CROSS JOIN first
    RETURNING account_id, seq, type, created_at),
booked AS (
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, created_at)
    SELECT s.account_id, s.endpoint_id, w.seq, w.type, w.created_at, w.created_at FROM written w
    JOIN webhook_subscriptions s ON s.account_id = w.account_id AND s.type = w.type
    JOIN webhook_endpoints ep ON ep.id = s.endpoint_id AND ep.disabled_at IS NULL
    RETURNING 1),
tally AS (SELECT count(*) AS booked FROM booked),
told AS (
    SELECT pg_notify('` + eventsChannel + `', CAST(account_id AS TEXT) || ':' || CAST(before + 1 AS TEXT) || ':' || CAST(before + ? AS TEXT)) FROM first)
SELECT h.seq, tally.booked FROM h, tally, told`
	n := int64(len(evs))
	st := batchStatement(q, eventRows(accountID, evs), int64(accountID), n, n, n)
	if st.err != nil {
		return 0, 0, st.err
	}
	var last int64
	var booked int
	err := tx.QueryRowxContext(ctx, tx.Rebind(st.query), st.args...).Scan(&last, &booked)
	return last, booked, err
}
