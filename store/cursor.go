package store

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// A cursor is the sort key of the last row of a page, so the next page
// starts strictly after it (keyset pagination: stable while rows are
// inserted, and as fast on page 1000 as on page 1). It is opaque to
// clients: base64 of the key's integers.

func encodeCursor(key ...int64) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = strconv.FormatInt(k, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
}

func decodeCursor(cursor string, n int) ([]int64, error) {
	bad := parley.Invalid(map[string]string{"cursor": "is not a cursor this list returned"})
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != n {
		return nil, bad
	}
	key := make([]int64, n)
	for i, p := range parts {
		if key[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, bad
		}
	}
	return key, nil
}

// idPage is the keyset of lists ordered by id, oldest first: the condition
// and argument that start after the cursor, and the LIMIT that fetches one
// row more than the page to tell whether there is a next one.
func idPage(page parley.Page, column string) (cond string, args []any, limit int, err error) {
	page = page.Normalize()
	cond = "1 = 1"
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 1)
		if err != nil {
			return "", nil, 0, err
		}
		cond, args = column+" > ?", []any{key[0]}
	}
	return cond, args, page.Limit + 1, nil
}

// idCursor trims a fetched page to its limit and returns the cursor of the
// next page, "" when there is none.
func idCursor[T any](rows []T, page parley.Page, id func(T) int64) ([]T, string) {
	page = page.Normalize()
	if len(rows) <= page.Limit {
		return rows, ""
	}
	rows = rows[:page.Limit]
	return rows, encodeCursor(id(rows[len(rows)-1]))
}
