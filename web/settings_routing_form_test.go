package web

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/routing"
)

// Attributes typed as "name = value" lines read back as they were saved.
func TestAttributesRoundTrip(t *testing.T) {
	attrs := map[string]any{"state": []any{"CA", "NY"}, "vip": true, "score": 3.0, "code": "true", "city": "Paris"}
	got, err := parseAttributes(formatAttributes(attrs))
	if err != nil || !reflect.DeepEqual(got, attrs) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, attrs)
	}
	if _, err := parseAttributes("no equals sign"); err == nil {
		t.Fatal("a line without = was accepted")
	}
}

// The editor's fields read back as routing entries, in index order, with
// what does not parse named as routing names it.
func TestEntriesFromForm(t *testing.T) {
	form := url.Values{
		"entries[3].strategy": {"priority"}, "entries[3].user_ids": {"7", "5", "7", "x"},
		"entries[0].strategy": {"least_busy"}, "entries[0].capacity": {"two"}, "entries[0].inbox_id": {"9"},
	}
	entries := entriesFromForm(form, routing.Directory{})
	if len(entries) != 2 || entries[0].Strategy != "least_busy" || entries[1].Index != 1 ||
		!reflect.DeepEqual(entries[1].UserIDs, []parley.ID{7, 5}) {
		t.Fatalf("entries: %+v", entries)
	}
	fields := map[string]string{}
	e := entries[0].entry(fields)
	if e.Conditions.InboxID == nil || *e.Conditions.InboxID != 9 || fields["entries[0].capacity"] == "" {
		t.Fatalf("entry %+v, problems %v", e, fields)
	}
	ed := tableEditor{Entries: entries}
	if !ed.editAction("up:1") || ed.Entries[0].Strategy != "priority" || ed.Entries[1].Index != 1 {
		t.Fatalf("Move up: %+v", ed.Entries)
	}
	if !ed.editAction("remove:0") || len(ed.Entries) != 1 || ed.Entries[0].Index != 0 {
		t.Fatalf("Remove: %+v", ed.Entries)
	}
	if ed.editAction("save") {
		t.Fatal("Save was taken for an edit")
	}
}
