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
	rows := eventRows(evs, func(int) []any { return []any{accountID} })
	q := `WITH ` + postgresDialect.batchRows("v", append([]string{"account_id BIGINT"}, eventBatchColumns...)...) + `
INSERT INTO events (account_id, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
SELECT account_id, type, conversation_id, subject_id, actor_type, actor_id, ` + postgresDialect.jsonValue("data") + `, created_at FROM v`
	return 0, execBatch(ctx, tx, q, rows)
}

// numbersAtCommit: PostgreSQL's events are numbered after it.
func (postgresSQL) numbersAtCommit() bool { return false }
