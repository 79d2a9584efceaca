package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store"
)

// TestBatchRowsCarryEveryValue: a batch's rows reach the statement as
// they were, whatever their text (quotes, JSON, letters beyond ASCII,
// control characters), ids, large numbers and NULLs, in their order; an
// empty batch is no rows.
func TestBatchRowsCarryEveryValue(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		type row struct {
			I    int     `db:"i"`
			ID   int64   `db:"id"`
			Text *string `db:"text"`
			At   *int64  `db:"at"`
		}
		texts := []string{`it's "quoted" <b>&amp;</b>`, `{"a": [1, 2]}`, "Señora Ñúñez 👋 日本", `\u0000 \\ back`, "",
			"tab\tnew\nline\r\x01\x1f\x7f end"}
		var rows [][]any
		var want []row
		for i, s := range texts {
			at := int64(1<<53 + i)
			rows = append(rows, []any{i, parley.ID(9_007_199_254_740_993 + int64(i)), s, at})
			want = append(want, row{i, 9_007_199_254_740_993 + int64(i), &texts[i], &at})
		}
		rows = append(rows, []any{len(texts), parley.ID(1), nil, nil})
		want = append(want, row{I: len(texts), ID: 1})
		var got []row
		if err := db.SelectBatch(ctx, &got, rows, "i INTEGER", "id BIGINT", "text TEXT", "at BIGINT"); err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b row) bool {
			return a.I == b.I && a.ID == b.ID && eqPtr(a.Text, b.Text) && eqPtr(a.At, b.At)
		}) {
			t.Fatalf("read back %+v\nwant %+v", got, want)
		}
		got = nil
		if err := db.SelectBatch(ctx, &got, nil, "i INTEGER", "id BIGINT", "text TEXT", "at BIGINT"); err != nil || len(got) != 0 {
			t.Fatalf("an empty batch read back %d rows, err %v", len(got), err)
		}
	})
}

// TestBatchesOfEverySize: a batch reads back exactly its rows, in order,
// whether it fills the VALUES list it is written as (SQLite), leaves
// part of it empty, or is too large for one and read from JSON.
func TestBatchesOfEverySize(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		for _, n := range []int{1, 2, 3, 4, 5, 63, 64, 65, 512, 513, 1100} {
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = []any{n - i, fmt.Sprint("row ", i)}
			}
			var got []struct {
				K    int    `db:"k"`
				Text string `db:"text"`
			}
			if err := db.SelectBatch(ctx, &got, rows, "k INTEGER", "text TEXT"); err != nil {
				t.Fatalf("%d rows: %v", n, err)
			}
			if len(got) != n {
				t.Fatalf("a batch of %d rows read back %d", n, len(got))
			}
			for i, r := range got {
				if r.K != n-i || r.Text != fmt.Sprint("row ", i) {
					t.Fatalf("a batch of %d rows: row %d read back as %+v", n, i, r)
				}
			}
		}
	})
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestListsInAnyQuery: IN (?) lists of ids and of text, beside scalar
// arguments before and after them, select what they name and nothing else.
func TestListsInAnyQuery(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		got, err := store.SelectIn[string](ctx, db, `SELECT v FROM (SELECT 1 AS n, 'a' AS v UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'it''s' UNION ALL SELECT 4, 'd') t
WHERE n > ? AND n IN (?) AND v IN (?) AND n < ? ORDER BY n`, 1, []parley.ID{2, 3, 4, 99}, []string{"b", "it's", "zz"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{"b", "it's"}) {
			t.Fatalf("selected %q; want b and it's", got)
		}
		none, err := store.SelectIn[string](ctx, db, `SELECT 'x' WHERE 1 IN (?)`, []int64{})
		if err != nil || len(none) != 0 {
			t.Fatalf("an empty list selected %q, err %v", none, err)
		}
		var nilList []string
		if none, err = store.SelectIn[string](ctx, db, `SELECT 'x' WHERE 'a' IN (?)`, nilList); err != nil || len(none) != 0 {
			t.Fatalf("a nil list selected %q, err %v", none, err)
		}
		if got, err := store.SelectIn[string](ctx, db, `SELECT 'x' WHERE 2 IN (?)`, []any{nil, parley.ID(2)}); err != nil || len(got) != 1 {
			t.Fatalf("a list of ids after a nil selected %q, err %v", got, err)
		}
		// Lists only where a list belongs; a slice elsewhere is a bug
		// to report, not a query to guess at.
		for _, q := range []string{`SELECT 'x' WHERE 1 NOT IN (?)`, `SELECT 'x' WHERE 1 = ?`} {
			if _, err := store.SelectIn[string](ctx, db, q, []int64{1}); err == nil {
				t.Errorf("%s with a list ran", q)
			}
		}
	})
}

// TestBatchesRefuseTextThatIsNotUTF8: JSON would replace the bytes, and a
// phone so changed could miss its opt-out; the text is refused instead.
func TestBatchesRefuseTextThatIsNotUTF8(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		broken := "+1415" + string([]byte{0xff}) + "5550100"
		var got []struct {
			Phone string `db:"phone"`
		}
		err := db.SelectBatch(ctx, &got, [][]any{{broken}}, "phone TEXT")
		if !parley.IsKind(err, parley.EINVALID) {
			t.Errorf("a batch with a broken phone: %v; want invalid", err)
		}
		if _, err := store.SelectIn[string](ctx, db, `SELECT 'x' WHERE 'a' IN (?)`, []string{broken}); !parley.IsKind(err, parley.EINVALID) {
			t.Errorf("a list with a broken phone: %v; want invalid", err)
		}
	})
}
