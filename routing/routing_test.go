package routing_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/routing"
)

// The account's users, inboxes and channels, as Validate is told of them.
var (
	knownUsers    = map[parley.ID]bool{ana: true, ben: true, cleo: true, dev: true}
	knownInboxes  = map[parley.ID]bool{11: true}
	knownChannels = map[parley.ID]bool{21: true}
)

func known(m map[parley.ID]bool) func(parley.ID) bool {
	return func(id parley.ID) bool { return m[id] }
}

// invalidFields returns the fields of an EINVALID error, failing otherwise.
func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Kind != parley.EINVALID {
		t.Fatalf("err = %v; want an EINVALID error (422)", err)
	}
	return slices.Sorted(maps.Keys(pe.Fields))
}

func TestTableValidate(t *testing.T) {
	good := func() routing.Entry {
		return routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben}}
	}
	with := func(change func(e *routing.Entry)) routing.Entry {
		e := good()
		change(&e)
		return e
	}
	pool := func(n int) []parley.ID {
		ids := make([]parley.ID, n)
		for i := range ids {
			ids[i] = parley.ID(5000 + i)
		}
		return ids
	}
	for _, tc := range []struct {
		name    string
		table   routing.Table
		users   func(parley.ID) bool // nil: knownUsers
		fields  []string             // nil: valid
		message string               // a fragment of the first field's message
	}{
		{
			name:  "a valid table",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{good()}},
		},
		{
			name: "every strategy, capacity and condition that is valid",
			table: routing.Table{Name: "Admissions", Default: true, Entries: []routing.Entry{
				with(func(e *routing.Entry) { e.Strategy = routing.Priority; e.Capacity = capacity(1) }),
				with(func(e *routing.Entry) { e.Strategy = routing.LeastBusy; e.Capacity = capacity(500) }),
				with(func(e *routing.Entry) {
					e.Conditions = routing.Conditions{ContactType: "applicant", InboxID: idp(11), ChannelID: idp(21),
						Attributes: map[string]any{"state": []any{"CA", "NY"}, "year": float64(2026), "vip": true, "grade": []any{float64(9), "transfer", false}}}
				}),
			}},
		},
		{
			name:   "empty name",
			table:  routing.Table{Entries: []routing.Entry{good()}},
			fields: []string{"name"},
		},
		{
			name:   "a name of spaces",
			table:  routing.Table{Name: "  \t ", Entries: []routing.Entry{good()}},
			fields: []string{"name"},
		},
		{
			name:   "a name over 200 bytes",
			table:  routing.Table{Name: strings.Repeat("é", 101), Entries: []routing.Entry{good()}},
			fields: []string{"name"},
		},
		{
			name:   "no entries",
			table:  routing.Table{Name: "Admissions"},
			fields: []string{"entries"},
		},
		{
			name:   "more than 100 entries",
			table:  routing.Table{Name: "Admissions", Entries: slices.Repeat([]routing.Entry{good()}, 101)},
			fields: []string{"entries"},
		},
		{
			name:    "an empty pool",
			table:   routing.Table{Name: "Admissions", Entries: []routing.Entry{good(), with(func(e *routing.Entry) { e.UserIDs = nil })}},
			fields:  []string{"entries[1].user_ids"},
			message: "at least one user",
		},
		{
			name:    "an unknown user names the entry and the user",
			table:   routing.Table{Name: "Admissions", Entries: []routing.Entry{good(), with(func(e *routing.Entry) { e.UserIDs = []parley.ID{ana, 999} })}},
			fields:  []string{"entries[1].user_ids"},
			message: "999",
		},
		{
			name:    "a user listed twice",
			table:   routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.UserIDs = []parley.ID{ana, ben, ana} })}},
			fields:  []string{"entries[0].user_ids"},
			message: "twice",
		},
		{
			name:  "the same user in two entries is fine",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{good(), good()}},
		},
		{
			name:   "a pool over 500 users",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.UserIDs = pool(501) })}},
			users:  func(parley.ID) bool { return true },
			fields: []string{"entries[0].user_ids"},
		},
		{
			name:   "a pool of exactly 500 users",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.UserIDs = pool(500) })}},
			users:  func(parley.ID) bool { return true },
			fields: nil,
		},
		{
			name:    "an unknown strategy",
			table:   routing.Table{Name: "Admissions", Entries: []routing.Entry{good(), good(), with(func(e *routing.Entry) { e.Strategy = "random" })}},
			fields:  []string{"entries[2].strategy"},
			message: "round_robin",
		},
		{
			name:   "no strategy",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.Strategy = "" })}},
			fields: []string{"entries[0].strategy"},
		},
		{
			name:   "a strategy in the wrong case",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.Strategy = "Round_Robin" })}},
			fields: []string{"entries[0].strategy"},
		},
		{
			name:   "capacity 0",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.Capacity = capacity(0) })}},
			fields: []string{"entries[0].capacity"},
		},
		{
			name:   "a negative capacity",
			table:  routing.Table{Name: "Admissions", Entries: []routing.Entry{with(func(e *routing.Entry) { e.Capacity = capacity(-3) })}},
			fields: []string{"entries[0].capacity"},
		},
		{
			name: "an unknown inbox",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) { e.Conditions.InboxID = idp(12) })}},
			fields: []string{"entries[0].conditions.inbox_id"},
		},
		{
			name: "an unknown channel",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				good(), with(func(e *routing.Entry) { e.Conditions.ChannelID = idp(22) })}},
			fields: []string{"entries[1].conditions.channel_id"},
		},
		{
			name: "an attribute whose value is an object",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) {
					e.Conditions.Attributes = map[string]any{"state": "CA", "address": map[string]any{"city": "Oakland"}}
				})}},
			fields: []string{"entries[0].conditions.attributes.address"},
		},
		{
			name: "an attribute list holding an object",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) {
					e.Conditions.Attributes = map[string]any{"state": []any{"CA", map[string]any{}}}
				})}},
			fields: []string{"entries[0].conditions.attributes.state"},
		},
		{
			name: "an attribute list holding a list",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) { e.Conditions.Attributes = map[string]any{"state": []any{[]any{"CA"}}} })}},
			fields: []string{"entries[0].conditions.attributes.state"},
		},
		{
			name: "an empty attribute list, which nothing could match",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) { e.Conditions.Attributes = map[string]any{"state": []any{}} })}},
			fields: []string{"entries[0].conditions.attributes.state"},
		},
		{
			name: "a null attribute",
			table: routing.Table{Name: "Admissions", Entries: []routing.Entry{
				with(func(e *routing.Entry) { e.Conditions.Attributes = map[string]any{"state": nil} })}},
			fields: []string{"entries[0].conditions.attributes.state"},
		},
		{
			name: "every problem at once is reported at once",
			table: routing.Table{Name: "", Entries: []routing.Entry{
				good(),
				{Strategy: "fastest", UserIDs: []parley.ID{999}, Capacity: capacity(0)},
				{Strategy: routing.Priority, Conditions: routing.Conditions{InboxID: idp(12), ChannelID: idp(22)}},
			}},
			fields: []string{"entries[1].capacity", "entries[1].strategy", "entries[1].user_ids",
				"entries[2].conditions.channel_id", "entries[2].conditions.inbox_id", "entries[2].user_ids", "name"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users := tc.users
			if users == nil {
				users = known(knownUsers)
			}
			err := tc.table.Validate(users, known(knownInboxes), known(knownChannels))
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate: %v; want a valid table", err)
				}
				return
			}
			got := invalidFields(t, err)
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("invalid fields %q; want %q", got, tc.fields)
			}
			if tc.message != "" {
				var pe *parley.Error
				errors.As(err, &pe)
				if msg := pe.Fields[tc.fields[0]]; !strings.Contains(msg, tc.message) {
					t.Errorf("%s: %q; want it to mention %q", tc.fields[0], msg, tc.message)
				}
			}
		})
	}

	t.Run("the name is stored trimmed", func(t *testing.T) {
		tb := routing.Table{Name: "  Admissions \n", Entries: []routing.Entry{good()}}
		if err := tb.Validate(known(knownUsers), known(knownInboxes), known(knownChannels)); err != nil {
			t.Fatal(err)
		}
		if tb.Name != "Admissions" {
			t.Errorf("Name = %q; want %q", tb.Name, "Admissions")
		}
	})
}

func TestStrategyValid(t *testing.T) {
	for s, want := range map[routing.Strategy]bool{
		"priority": true, "round_robin": true, "least_busy": true,
		"": false, "random": false, "roundrobin": false, "PRIORITY": false,
	} {
		if got := s.Valid(); got != want {
			t.Errorf("Strategy(%q).Valid() = %v; want %v", s, got, want)
		}
	}
}

func TestContactTypeValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     routing.ContactType
		fields []string
		want   routing.ContactType // after trimming, when valid
	}{
		{
			name: "valid with a table",
			in:   routing.ContactType{Name: "applicant", Relationship: "counselor", RoutingTableID: idp(3)},
			want: routing.ContactType{Name: "applicant", Relationship: "counselor", RoutingTableID: idp(3)},
		},
		{
			name: "valid without a table (the default table routes it)",
			in:   routing.ContactType{Name: "parent", Relationship: "advisor"},
			want: routing.ContactType{Name: "parent", Relationship: "advisor"},
		},
		{
			name: "names are trimmed",
			in:   routing.ContactType{Name: " applicant\t", Relationship: "\ncounselor "},
			want: routing.ContactType{Name: "applicant", Relationship: "counselor"},
		},
		{name: "no name", in: routing.ContactType{Relationship: "counselor"}, fields: []string{"name"}},
		{name: "a name of spaces", in: routing.ContactType{Name: "   ", Relationship: "counselor"}, fields: []string{"name"}},
		{name: "a name over 100 bytes", in: routing.ContactType{Name: strings.Repeat("a", 101), Relationship: "counselor"}, fields: []string{"name"}},
		{name: "no relationship", in: routing.ContactType{Name: "applicant"}, fields: []string{"relationship"}},
		{name: "a relationship over 100 bytes", in: routing.ContactType{Name: "applicant", Relationship: strings.Repeat("r", 101)}, fields: []string{"relationship"}},
		{name: "neither", in: routing.ContactType{}, fields: []string{"name", "relationship"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			err := c.Validate()
			if tc.fields != nil {
				if got := invalidFields(t, err); !slices.Equal(got, tc.fields) {
					t.Fatalf("invalid fields %q; want %q", got, tc.fields)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Name != tc.want.Name || c.Relationship != tc.want.Relationship || who(c.RoutingTableID) != who(tc.want.RoutingTableID) {
				t.Errorf("after Validate %+v; want %+v", c, tc.want)
			}
		})
	}
}
