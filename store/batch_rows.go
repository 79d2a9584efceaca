package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// A batch reaches its statement as one parameter, a JSON array that the
// statement reads as a table: the statement's text is then the same
// whatever the batch's size, so each connection parses and plans it once
// and keeps it (prepared.go). A VALUES or IN list of n items was a new
// statement for every n, planned anew each time. Both databases read
// JSON natively, and one encoding serves both.

// batchRows is a common table expression "name (col, …) AS (SELECT …)"
// reading a batch's rows from the parameters batchArgs makes of them. Each of cols is a column's name and SQL type
// ("carrier_id TEXT"); a row's values come in that order.
func (d dialect) batchRows(name string, cols ...string) string {
	var names, values strings.Builder
	for i, c := range cols {
		col, typ, _ := strings.Cut(c, " ")
		if i > 0 {
			names.WriteString(", ")
			values.WriteString(", ")
		}
		names.WriteString(col)
		fmt.Fprintf(&values, "CAST(value->>%d AS %s)", i, typ)
	}
	// LIMIT the batch's size: PostgreSQL guesses 100 rows of a JSON
	// array, and a tenth of any source for a LIMIT it plans without
	// knowing, so the joins of a batch are planned as index lookups.
	return name + " (" + names.String() + ") AS (SELECT " + values.String() + " FROM " + d.jsonElements() + " LIMIT ?)"
}

// batchArgs are the parameters of batchRows: the rows as a JSON array of
// arrays (ids, as parley.ID writes them, are strings; the casts read
// them), and their number.
func batchArgs(rows [][]any) ([]any, error) {
	b, err := json.Marshal(rows)
	return []any{string(b), len(rows)}, err
}

// execBatch runs query, whose one parameter is rows (see batchRows).
func execBatch(ctx context.Context, tx *Tx, query string, rows [][]any) error {
	args, err := batchArgs(rows)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(query), args...)
	return err
}

// selectBatch is execBatch for a query that returns rows, read into dest.
func selectBatch(ctx context.Context, tx *Tx, dest any, query string, rows [][]any) error {
	args, err := batchArgs(rows)
	if err != nil {
		return err
	}
	return tx.SelectContext(ctx, dest, tx.Rebind(query), args...)
}

// batchStatement is a statement whose first parameters are rows (see
// batchRows), followed by more; an encoding error is the statement's.
func batchStatement(query string, rows [][]any, more ...any) statement {
	args, err := batchArgs(rows)
	return statement{query, append(args, more...), err}
}

// listIn rewrites each "IN (?)" of query whose argument is a slice to
// read the slice from one JSON parameter (see batchRows), in the order of
// the slices among args. Scalar arguments stay as they are.
func listIn(d dialect, query string, args []any) (string, []any, error) {
	out := make([]any, len(args))
	copy(out, args)
	var q strings.Builder
	rest := query
	for i, a := range args {
		typ, ok := listType(a)
		if !ok {
			continue
		}
		at := strings.Index(rest, "IN (?)")
		if at < 0 {
			return "", nil, fmt.Errorf("store: a list argument without its IN (?) in %q", query)
		}
		raw, err := json.Marshal(a)
		if err != nil {
			return "", nil, err
		}
		q.WriteString(rest[:at])
		q.WriteString(d.inList(typ))
		rest = rest[at+len("IN (?)"):]
		out[i] = string(raw)
	}
	q.WriteString(rest)
	return q.String(), out, nil
}

// listType is the SQL type of a list argument's items; false for a
// scalar argument (a []byte is one).
func listType(a any) (string, bool) {
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() == reflect.Uint8 {
		return "", false
	}
	elem := v.Type().Elem()
	if elem.Kind() == reflect.Interface && v.Len() > 0 {
		elem = v.Index(0).Elem().Type()
	}
	if elem.Kind() == reflect.String {
		return "TEXT", true
	}
	return "BIGINT", true
}
