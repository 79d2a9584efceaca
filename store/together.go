package store

import (
	"context"
	"fmt"
	"strings"
)

// statement is a write and its arguments, built apart from running it so
// that independent writes can go to the database together.
type statement struct {
	query string // "?" placeholders; "" when there is nothing to write
	args  []any
	err   error // building it failed (batchStatement); nothing runs
}

// execTogether runs independent writes. On PostgreSQL they travel as one
// statement, each a WITH query of it: one round trip instead of one each
// (a group-commit batch's conversation updates, activity log and
// notifications). They run on one snapshot and none sees another's
// changes, so none may read what another writes. SQLite takes no writes
// inside WITH and runs them in turn.
func execTogether(ctx context.Context, tx *Tx, stmts ...statement) error {
	var todo []statement
	for _, s := range stmts {
		if s.err != nil {
			return s.err
		}
		if s.query != "" {
			todo = append(todo, s)
		}
	}
	if !dialectOf(tx).writesInWith() || len(todo) < 2 {
		for _, s := range todo {
			if _, err := tx.ExecContext(ctx, tx.Rebind(s.query), s.args...); err != nil {
				return err
			}
		}
		return nil
	}
	var q strings.Builder
	var args []any
	for i, s := range todo {
		if i == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(",\n")
		}
		fmt.Fprintf(&q, "w%d AS (%s)", i, s.query)
		args = append(args, s.args...)
	}
	// Every WITH query that writes runs, whether the main query reads it
	// or not.
	q.WriteString("\nSELECT 1")
	_, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...)
	return err
}
