package devdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// ExplainConversations returns the database's plans for a conversation
// list: each statement st's FindConversations runs for it (traced by
// store.TraceConversations), under EXPLAIN (ANALYZE, BUFFERS) on
// PostgreSQL, EXPLAIN QUERY PLAN on SQLite, each headed by the planner's
// step and what it found.
func (d *DB) ExplainConversations(ctx context.Context, st *store.DB, f conversations.ConversationFilter) (string, error) {
	ran, err := st.TraceConversations(ctx, f)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, q := range ran {
		fmt.Fprintf(&b, "-- %s\n", q.Step)
		if err := d.explainInto(ctx, &b, q.SQL, q.Args); err != nil {
			return "", fmt.Errorf("explain %s: %w", q.Step, err)
		}
	}
	return b.String(), nil
}

func (d *DB) explainInto(ctx context.Context, b *strings.Builder, q string, args []any) error {
	prefix, col := d.explainPlan()
	rows, err := d.db.QueryContext(ctx, d.db.Rebind(prefix+q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s\n", vals[col])
	}
	return rows.Err()
}
