package store

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// appendEvents inserts the events unnumbered on PostgreSQL: the sequencer
// numbers them once they committed (sequencer.go). Numbering here would
// lock the account's head until the commit and put every writer of the
// account in one line, one WAL flush each.
func (postgresSQL) appendEvents(ctx context.Context, tx *Tx, accountID parley.ID, evs []events.Event) (int64, error) {
	rows, vargs := eventValues(evs, func(int) string { return "(?, ?, ?, ?, ?, ?, ?, ?)" })
	args := make([]any, 0, len(vargs)+len(evs))
	for i := range evs {
		args = append(args, accountID)
		args = append(args, vargs[7*i:7*i+7]...)
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO events (account_id, type, conversation_id, subject_id, actor_type, actor_id, data, created_at) VALUES `+rows), args...)
	return 0, err
}

// numbersAtCommit: PostgreSQL's events are numbered after it.
func (postgresSQL) numbersAtCommit() bool { return false }
