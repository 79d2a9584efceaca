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
	// name, when set, names its WITH query in place of w0, w1…, for a
	// read of its RETURNING rows (selectTogether).
	name string
}

// execTogether runs independent writes. On PostgreSQL they travel as one
// statement, each a WITH query of it: one round trip instead of one each
// (a group-commit batch's conversation updates, activity log and
// notifications). They run on one snapshot and none sees another's
// changes, so none may read what another writes. SQLite takes no writes
// inside WITH and runs them in turn.
func execTogether(ctx context.Context, tx *Tx, stmts ...statement) error {
	return selectTogether(ctx, tx, nil, statement{}, stmts...)
}

// selectTogether runs independent writes, then read into dest: on
// PostgreSQL all in one statement, read's own WITH queries after the
// writes'; read (and a later write) sees the database as it was before
// the writes, and their changes only through the RETURNING rows of a
// named write. SQLite runs the writes in turn, then read, which must
// then not name any.
func selectTogether(ctx context.Context, tx *Tx, dest any, read statement, stmts ...statement) error {
	if read.err != nil {
		return read.err
	}
	var todo []statement
	for _, s := range stmts {
		if s.err != nil {
			return s.err
		}
		if s.query != "" {
			todo = append(todo, s)
		}
	}
	parts := len(todo)
	if read.query != "" {
		parts++
	}
	if !dialectOf(tx).writesInWith() || parts < 2 {
		for _, s := range todo {
			if _, err := tx.ExecContext(ctx, tx.Rebind(s.query), s.args...); err != nil {
				return err
			}
		}
		if read.query == "" {
			return nil
		}
		return tx.SelectContext(ctx, dest, tx.Rebind(read.query), read.args...)
	}
	q, args := togetherQuery(read, todo...)
	if read.query == "" {
		_, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
		return err
	}
	return tx.SelectContext(ctx, dest, tx.Rebind(q), args...)
}

// togetherQuery is writes, then read, as one PostgreSQL statement: each
// write a WITH query, read's own WITH queries after theirs.
func togetherQuery(read statement, writes ...statement) (string, []any) {
	var q strings.Builder
	var args []any
	for i, s := range writes {
		if i == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(",\n")
		}
		name := s.name
		if name == "" {
			name = fmt.Sprintf("w%d", i)
		}
		fmt.Fprintf(&q, "%s AS (%s)", name, s.query)
		args = append(args, s.args...)
	}
	if read.query == "" {
		// Every WITH query that writes runs, whether the main query reads
		// it or not.
		q.WriteString("\nSELECT 1")
		return q.String(), args
	}
	if rest, ok := strings.CutPrefix(read.query, "WITH "); ok {
		q.WriteString(",\n" + rest)
	} else {
		q.WriteString("\n" + read.query)
	}
	return q.String(), append(args, read.args...)
}
