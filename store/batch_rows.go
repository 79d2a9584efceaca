package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// On PostgreSQL a batch reaches its statement as one parameter, a JSON
// array that the statement reads as a table: the statement's text is then
// the same whatever the batch's size, so each connection plans it once
// and keeps it (prepared.go); a VALUES list of n items was a new statement
// for every n, planned anew each time. On SQLite, whose JSON functions
// cost more than the statements' own work, a batch is a VALUES list of
// parameters in a few fixed lengths (expandBatch), each prepared once. IN
// lists are JSON arrays on both.

// batchRows is a common table expression "name (col, …) AS (SELECT …)"
// reading a batch's rows, in their order, from the parameters
// batchStatement makes of them. Each of cols is a column's name and SQL
// type ("carrier_id TEXT"); a row's values come in that order.
func (d dialect) batchRows(name string, cols ...string) string {
	var names strings.Builder
	types := make([]string, len(cols))
	for i, c := range cols {
		col, typ, _ := strings.Cut(c, " ")
		if i > 0 {
			names.WriteString(", ")
		}
		names.WriteString(col)
		types[i] = typ
	}
	if d.batchesAsValues() {
		// The rows' number decides the text: batchStatement writes it.
		return name + " (" + names.String() + ") AS (" + valuesMarker + strings.Join(types, " ") + "*/)"
	}
	return name + " (" + names.String() + ") AS (" + jsonBatch(d, types) + ")"
}

// jsonBatch reads a batch's rows from one JSON parameter, and their
// number from a second.
func jsonBatch(d dialect, types []string) string {
	var values strings.Builder
	for i, typ := range types {
		if i > 0 {
			values.WriteString(", ")
		}
		fmt.Fprintf(&values, "CAST(value->>%d AS %s)", i, typ)
	}
	// LIMIT the batch's size: PostgreSQL plans a LIMIT it does not know
	// as a tenth of its source, and its source (parley_batch, migration
	// 00038) as 10 rows, so a batch is planned as one row whose joins
	// are index lookups, even in a plan kept from while the tables were
	// small.
	from, order := d.jsonElements()
	return "SELECT " + values.String() + " FROM " + from + " ORDER BY " + order + " LIMIT " + d.varyingLimit()
}

// valuesMarker opens the place of a batch read from a VALUES list (SQLite:
// reading each row out of JSON cost more than the statement's own work),
// followed by the columns' types and "*/".
const valuesMarker = "/*batch "

// valuesBucketMark is in the text of a statement whose batch is a VALUES
// list: its shapes are bounded (valuesListRows), so it is kept prepared
// whatever its parameters' number.
const valuesBucketMark = "/*rows*/"

// maxValuesRows is the largest VALUES list a batch is written as; a
// larger batch is read from JSON. Lists come in powers of two up to it,
// padded and cut by the batch's size: ten shapes a statement at most.
const maxValuesRows = 512

// valuesListRows is the length of the VALUES list that holds n rows.
func valuesListRows(n int) int {
	return 1 << bits.Len(uint(max(n, 1)-1))
}

// expandBatch writes the batch of query (a batchRows of batchesAsValues)
// for rows: a VALUES list of valuesListRows(len(rows)) rows, each numbered,
// those past the batch cut by its size; or, for a batch too large, JSON.
func expandBatch(query string, rows [][]any) (string, []any, error) {
	at := strings.Index(query, valuesMarker)
	end := at + strings.Index(query[at:], "*/")
	types := strings.Fields(query[at+len(valuesMarker) : end])
	head, tail := query[:at], query[end+len("*/"):]
	if len(rows) > maxValuesRows {
		args, err := batchArgs(rows)
		return head + jsonBatch(sqliteDialect, types) + tail, args, err
	}
	var q strings.Builder
	q.WriteString(head)
	q.WriteString("SELECT ")
	for i, typ := range types {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "CAST(column%d AS %s)", i+2, typ)
	}
	q.WriteString(" FROM (VALUES " + valuesBucketMark)
	size := valuesListRows(len(rows))
	for i := range size {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(%d", i+1)
		for range types {
			q.WriteString(", ?")
		}
		q.WriteString(")")
	}
	q.WriteString(") WHERE column1 <= +? ORDER BY column1")
	q.WriteString(tail)
	args := make([]any, 0, size*len(types)+1)
	for _, r := range rows {
		if len(r) != len(types) {
			return "", nil, fmt.Errorf("store: a batch row of %d values for %d columns", len(r), len(types))
		}
		args = append(args, r...)
	}
	// The padding rows' values are NULLs, cut by the batch's size.
	args = append(args, make([]any, (size-len(rows))*len(types))...)
	return q.String(), append(args, len(rows)), nil
}

// batchArgs are the parameters of a JSON batch: the rows as a JSON array
// of arrays (appendBatchJSON), and their number.
func batchArgs(rows [][]any) ([]any, error) {
	buf := batchBuffers.Get().(*[]byte)
	defer batchBuffers.Put(buf)
	b, err := appendBatchJSON((*buf)[:0], rows)
	*buf = b
	return []any{string(b), len(rows)}, err
}

// batchBuffers keep the buffers batches are written in: the parameter is
// a copy, and a buffer grown once serves the next batch.
var batchBuffers = sync.Pool{New: func() any { return new([]byte) }}

// appendBatchJSON writes rows as a JSON array of arrays. The values a
// batch carries (numbers, ids, text, booleans, NULLs) are written
// without reflection, which encoding/json spent on every value of every
// batch a campaign writes (and an allocation on each id); anything else
// goes through encoding/json. An id is a number here: the statements
// cast each value from its text, which is the same.
func appendBatchJSON(b []byte, rows [][]any) ([]byte, error) {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range r {
			if j > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, v); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// appendJSONValue writes one value of a batch row.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, t), nil
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case parley.ID:
		return strconv.AppendInt(b, int64(t), 10), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case *string:
		if t == nil {
			return append(b, "null"...), nil
		}
		return appendJSONString(b, *t), nil
	case *int:
		if t == nil {
			return append(b, "null"...), nil
		}
		return strconv.AppendInt(b, int64(*t), 10), nil
	case *int64:
		if t == nil {
			return append(b, "null"...), nil
		}
		return strconv.AppendInt(b, *t, 10), nil
	case *parley.ID:
		if t == nil {
			return append(b, "null"...), nil
		}
		return strconv.AppendInt(b, int64(*t), 10), nil
	}
	raw, err := json.Marshal(v)
	return append(b, raw...), err
}

// appendJSONString writes s (UTF-8: checkText refused any other) as a
// JSON string: quotes, backslashes and control characters escaped, the
// rest as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// checkText refuses text that is not UTF-8, which JSON would silently
// alter (and PostgreSQL refused as a parameter before): a phone changed
// on its way to the consent check must not pass for another.
func checkText(v any) error {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case *string:
		if t == nil {
			return nil
		}
		s = *t
	default:
		return nil
	}
	if !utf8.ValidString(s) {
		return parley.Errorf(parley.EINVALID, "text is not valid UTF-8: %q", s)
	}
	return nil
}

// batchStatement is a statement whose first parameters are rows (see
// batchRows), followed by more; an encoding error is the statement's.
func batchStatement(query string, rows [][]any, more ...any) statement {
	for _, r := range rows {
		for _, v := range r {
			if err := checkText(v); err != nil {
				return statement{query: query, err: err}
			}
		}
	}
	var args []any
	var err error
	if strings.Contains(query, valuesMarker) {
		query, args, err = expandBatch(query, rows)
	} else {
		args, err = batchArgs(rows)
	}
	return statement{query: query, args: append(args, more...), err: err}
}

// execBatch runs batchStatement(query, rows, more...).
func execBatch(ctx context.Context, tx *Tx, query string, rows [][]any, more ...any) error {
	st := batchStatement(query, rows, more...)
	if st.err != nil {
		return st.err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(st.query), st.args...)
	return err
}

// columnRows are values as the rows of a batch of one column.
func columnRows[T any](values []T) [][]any {
	rows := make([][]any, len(values))
	for i, v := range values {
		rows[i] = []any{v}
	}
	return rows
}

// selectBatch is execBatch for a query that returns rows, read into dest.
func selectBatch(ctx context.Context, tx *Tx, dest any, query string, rows [][]any, more ...any) error {
	st := batchStatement(query, rows, more...)
	if st.err != nil {
		return st.err
	}
	return tx.SelectContext(ctx, dest, tx.Rebind(st.query), st.args...)
}

// rebindIn reads the slice argument of query's IN (?) from one parameter
// (listIn) and rebinds it for the database.
func rebindIn(tx *Tx, query string, args ...any) (string, []any, error) {
	q, args, err := listIn(dialectOf(tx), query, args)
	return tx.Rebind(q), args, err
}

// selectIn runs a query with an IN (?) over a slice argument.
func selectIn[T any](ctx context.Context, tx *Tx, query string, args ...any) ([]T, error) {
	q, args, err := rebindIn(tx, query, args...)
	if err != nil {
		return nil, err
	}
	var rows []T
	err = tx.SelectContext(ctx, &rows, q, args...)
	return rows, err
}

// execIn runs a statement with an IN (?) over a slice argument.
func execIn(ctx context.Context, tx *Tx, query string, args ...any) error {
	q, args, err := rebindIn(tx, query, args...)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, q, args...)
	return err
}

// listIn rewrites the "IN (?)" of each slice argument of query to read
// the slice from one JSON parameter (see batchRows); scalar arguments
// stay as they are. The k-th "?" of query is the k-th argument's, as
// with sqlx.In; a slice's must be an IN list's.
func listIn(d dialect, query string, args []any) (string, []any, error) {
	out := make([]any, len(args))
	copy(out, args)
	var q strings.Builder
	rest, k := query, 0
	for {
		at := strings.IndexByte(rest, '?')
		if at < 0 {
			break
		}
		if k >= len(args) {
			return "", nil, fmt.Errorf("store: more placeholders than arguments in %q", query)
		}
		typ, isList := listType(args[k])
		if !isList {
			q.WriteString(rest[:at+1])
			rest, k = rest[at+1:], k+1
			continue
		}
		head := strings.TrimRight(rest[:at], " ")
		if !strings.HasSuffix(head, "IN (") || strings.HasSuffix(strings.TrimSuffix(head, "IN ("), "NOT ") ||
			!strings.HasPrefix(rest[at+1:], ")") {
			return "", nil, fmt.Errorf("store: list argument %d is not an IN (?) list in %q", k, query)
		}
		list, err := listArg(args[k])
		if err != nil {
			return "", nil, err
		}
		q.WriteString(strings.TrimSuffix(head, "IN ("))
		q.WriteString(d.inList(typ))
		rest, out[k], k = rest[at+2:], list, k+1
	}
	if k != len(args) {
		return "", nil, fmt.Errorf("store: %d arguments for %d placeholders in %q", len(args), k, query)
	}
	q.WriteString(rest)
	return q.String(), out, nil
}

// listArg is a list argument as its JSON array ([] for nil).
func listArg(a any) (string, error) {
	v := reflect.ValueOf(a)
	if v.Len() == 0 {
		return "[]", nil
	}
	for i := range v.Len() {
		if err := checkText(v.Index(i).Interface()); err != nil {
			return "", err
		}
	}
	raw, err := json.Marshal(a)
	return string(raw), err
}

// listType is the SQL type of a list argument's items; false for a
// scalar argument (a []byte is one).
func listType(a any) (string, bool) {
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() == reflect.Uint8 {
		return "", false
	}
	elem := v.Type().Elem()
	for i := 0; elem.Kind() == reflect.Interface && i < v.Len(); i++ {
		if e := v.Index(i).Elem(); e.IsValid() {
			elem = e.Type()
		}
	}
	if elem.Kind() == reflect.String {
		return "TEXT", true
	}
	return "BIGINT", true
}
