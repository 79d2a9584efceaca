package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestBatchJSONReadsAsEncodingJSON: a batch written without reflection
// decodes to what encoding/json would have written, for every kind of
// value a batch row carries (every ASCII byte in text, letters beyond it,
// NULL pointers and values of other types); an id is its number.
func TestBatchJSONReadsAsEncodingJSON(t *testing.T) {
	var every []byte
	for c := 1; c < 0x80; c++ {
		every = append(every, byte(c))
	}
	text, code, id, at := "Señora \"Ñúñez\" \\ 👋 日本 <b>&amp;</b>", 30003, parley.ID(9_007_199_254_740_993), int64(1<<53+1)
	var noText *string
	var noCode *int
	var noAt *int64
	var noID *parley.ID
	rows := [][]any{
		{string(every), text, "", nil, true, false},
		{1, -2, at, int64(-1 << 63), &text, &code, &at, noText, noCode, noAt, noID},
		{3.5, time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), json.RawMessage(`{"a":[1,2]}`), []string{"x"}},
	}
	got, err := appendBatchJSON(nil, rows)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := decodeBatch(t, got), decodeBatch(t, want); !reflect.DeepEqual(a, b) {
		t.Errorf("decoded %v\nwant    %v\n(written %s)", a, b, got)
	}
	ids, err := appendBatchJSON(nil, [][]any{{id, &id}})
	if err != nil {
		t.Fatal(err)
	}
	if string(ids) != `[[9007199254740993,9007199254740993]]` {
		t.Errorf("ids written %s", ids)
	}
	if empty, _ := appendBatchJSON(nil, nil); string(empty) != "[]" {
		t.Errorf("no rows written %s", empty)
	}
}

func decodeBatch(t *testing.T, b []byte) [][]any {
	t.Helper()
	var rows [][]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return rows
}

// BenchmarkBatchJSON writes a batch of 65 events' rows (five events for
// each of 13 texts, as a receipt batch's event append does) with
// encoding/json, as batchArgs did, and as it does now.
func BenchmarkBatchJSON(b *testing.B) {
	actor := parley.ID(7)
	rows := make([][]any, 65)
	for i := range rows {
		rows[i] = []any{parley.ID(1), i + 1, "message.updated", int64(1000 + i), nil, "system", &actor,
			`{"id":"123456","status":"delivered","conversation_id":"4567"}`, int64(1796599368000 + i)}
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, err := json.Marshal(rows)
			if err != nil {
				b.Fatal(err)
			}
			_ = []any{string(raw), len(rows)}
		}
	})
	b.Run("batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := batchArgs(rows); err != nil {
				b.Fatal(err)
			}
		}
	})
}
