package parley_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/parleyhq/parley"
)

func TestIDsAreStringsOnTheWire(t *testing.T) {
	out, err := json.Marshal(struct {
		ID  parley.ID  `json:"id"`
		Ptr *parley.ID `json:"ptr"`
	}{ID: 42})
	if err != nil || string(out) != `{"id":"42","ptr":null}` {
		t.Errorf("marshal = %s, %v", out, err)
	}
	tests := []struct {
		name, in string
		ok       bool
		want     parley.ID
	}{
		{"string of digits", `"42"`, true, 42},
		{"JSON number", `42`, false, 0},
		{"zero", `"0"`, false, 0},
		{"negative", `"-1"`, false, 0},
		{"letters", `"abc"`, false, 0},
		{"null", `null`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				ID parley.ID `json:"id"`
			}
			err := json.Unmarshal([]byte(`{"id":`+tt.in+`}`), &v)
			if (err == nil) != tt.ok || v.ID != tt.want {
				t.Errorf("unmarshal %s = %v, %v", tt.in, v.ID, err)
			}
			var typeErr *json.UnmarshalTypeError
			if err != nil && (!errorsAs(err, &typeErr) || typeErr.Field != "id") {
				t.Errorf("error %v does not name the field", err)
			}
		})
	}
}

func errorsAs(err error, target **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = e
	}
	return ok
}

func TestParseIDRejectsWhatNamesNothing(t *testing.T) {
	for _, s := range []string{"", "0", "-3", "1.5", "9999999999999999999999", "12a"} {
		if _, err := parley.ParseID(s); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Errorf("ParseID(%q) = %v, want ENOTFOUND", s, err)
		}
	}
	if id, err := parley.ParseID("17"); err != nil || id != 17 {
		t.Errorf("ParseID(17) = %v, %v", id, err)
	}
}

func TestAllJoinsEveryPage(t *testing.T) {
	pages := map[string]struct {
		items []int
		next  string
	}{"": {[]int{1, 2}, "a"}, "a": {[]int{3}, "b"}, "b": {[]int{4, 5}, ""}}
	var asked []parley.Page
	got, err := parley.All(func(p parley.Page) ([]int, string, error) {
		asked = append(asked, p)
		pg := pages[p.Cursor]
		return pg.items, pg.next, nil
	})
	if err != nil || fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("All = %v, %v; want every page joined", got, err)
	}
	if len(asked) != 3 || asked[0].Limit != parley.MaxPageLimit || asked[2].Cursor != "b" {
		t.Errorf("pages asked = %+v; want 3, of the largest size, following the cursors", asked)
	}
}

func TestAllStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	got, err := parley.All(func(p parley.Page) ([]int, string, error) {
		calls++
		if p.Cursor == "" {
			return []int{1}, "next", nil
		}
		return nil, "more", boom
	})
	if !errors.Is(err, boom) || calls != 2 || fmt.Sprint(got) != "[1]" {
		t.Errorf("All = %v, %v after %d calls; want the error after the second page", got, err, calls)
	}
}

func TestMergeInvalidNamesEveryField(t *testing.T) {
	first := parley.Invalid(map[string]string{"from": "is required", "q": "first word"})
	second := parley.Invalid(map[string]string{"format": "must be csv", "q": "second word"})
	var pe *parley.Error
	if err := parley.MergeInvalid(nil, first, nil, second); !errors.As(err, &pe) || pe.Kind != parley.EINVALID ||
		len(pe.Fields) != 3 || pe.Fields["q"] != "first word" || pe.Fields["format"] != "must be csv" {
		t.Errorf("merged = %v %+v; want from, q (the first's words) and format", err, pe)
	}
	notFound := parley.Errorf(parley.ENOTFOUND, "no export")
	if err := parley.MergeInvalid(first, notFound, second); err != notFound {
		t.Errorf("with a 404 among them: %v; want the 404 as it is", err)
	}
	if err := parley.MergeInvalid(nil, nil); err != nil {
		t.Errorf("no errors merged to %v", err)
	}
}
