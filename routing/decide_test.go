package routing_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/quick"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/routing"
)

// Users of the pools below.
const (
	ana  parley.ID = 101
	ben  parley.ID = 102
	cleo parley.ID = 103
	dev  parley.ID = 104
)

func capacity(n int) *int { return &n }

func idp(id parley.ID) *parley.ID { return &id }

// free is an available user with no conversations; busy has load of them.
var free = routing.Agent{Active: true, Available: true}

func busy(load int) routing.Agent { return routing.Agent{Active: true, Available: true, Load: load} }

var away = routing.Agent{Active: true, Available: false}

// gone was deactivated; their own availability says they are free.
var gone = routing.Agent{Active: false, Available: true}

// everyoneFree makes every listed user available with no load.
func everyoneFree(ids ...parley.ID) map[parley.ID]routing.Agent {
	m := map[parley.ID]routing.Agent{}
	for _, id := range ids {
		m[id] = free
	}
	return m
}

// conditions decodes conditions from JSON, as the API and the store do:
// numbers arrive as float64.
func conditions(t testing.TB, raw string) routing.Conditions {
	t.Helper()
	var c routing.Conditions
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("conditions %s: %v", raw, err)
	}
	return c
}

// attributes decodes a contact's attributes from JSON.
func attributes(t testing.TB, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("attributes %s: %v", raw, err)
	}
	return m
}

func oneEntry(e routing.Entry) routing.Table {
	e.ID = 9001
	return routing.Table{ID: 7, Name: "Admissions", Entries: []routing.Entry{e}}
}

func who(id *parley.ID) string {
	if id == nil {
		return "nobody"
	}
	return id.String()
}

func TestDecideStrategies(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entry      routing.Entry
		agents     map[parley.ID]routing.Agent
		want       *parley.ID
		nextCursor int
	}{
		{
			name:   "priority picks the first user in list order, not by id",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ana, ben}},
			agents: everyoneFree(ana, ben, cleo),
			want:   idp(cleo),
		},
		{
			name:   "priority skips an unavailable user",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ana, ben}},
			agents: map[parley.ID]routing.Agent{cleo: away, ana: free, ben: free},
			want:   idp(ana),
		},
		{
			name:   "priority skips a user at capacity even when they are first",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ana}, Capacity: capacity(2)},
			agents: map[parley.ID]routing.Agent{cleo: busy(2), ana: busy(1)},
			want:   idp(ana),
		},
		{
			name:   "priority does not prefer the idle user",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ana}},
			agents: map[parley.ID]routing.Agent{cleo: busy(40), ana: free},
			want:   idp(cleo),
		},
		{
			name:       "round robin starts at the cursor",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo}, Cursor: 1},
			agents:     everyoneFree(ana, ben, cleo),
			want:       idp(ben),
			nextCursor: 2,
		},
		{
			name:       "round robin from a fresh cursor picks the first",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo}},
			agents:     everyoneFree(ana, ben, cleo),
			want:       idp(ana),
			nextCursor: 1,
		},
		{
			name:       "round robin at the last user wraps the cursor to 0",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo}, Cursor: 2},
			agents:     everyoneFree(ana, ben, cleo),
			want:       idp(cleo),
			nextCursor: 0,
		},
		{
			name:       "round robin skips an unavailable user and the cursor follows the pick",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo, dev}, Cursor: 1},
			agents:     map[parley.ID]routing.Agent{ana: free, ben: away, cleo: free, dev: free},
			want:       idp(cleo),
			nextCursor: 3,
		},
		{
			name:  "round robin wraps past unavailable and full users at the end of the pool",
			entry: routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo, dev}, Cursor: 2, Capacity: capacity(3)},
			agents: map[parley.ID]routing.Agent{
				ana: away, ben: busy(2), cleo: busy(3), dev: away,
			},
			want:       idp(ben),
			nextCursor: 2,
		},
		{
			name:       "round robin with a cursor past the pool's end wraps",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo}, Cursor: 7},
			agents:     everyoneFree(ana, ben, cleo),
			want:       idp(ben),
			nextCursor: 2,
		},
		{
			name:   "least busy picks the lowest load",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{ana, ben, cleo}},
			agents: map[parley.ID]routing.Agent{ana: busy(4), ben: busy(2), cleo: busy(3)},
			want:   idp(ben),
		},
		{
			name:   "least busy breaks ties in pool order",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{cleo, ana, ben, dev}},
			agents: map[parley.ID]routing.Agent{cleo: busy(3), ana: busy(1), ben: busy(5), dev: busy(1)},
			want:   idp(ana),
		},
		{
			name:   "least busy ignores an idle but unavailable user",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{ana, ben}},
			agents: map[parley.ID]routing.Agent{ana: {Available: false, Load: 0}, ben: busy(9)},
			want:   idp(ben),
		},
		{
			name:   "priority never picks a deactivated user, first and free as they are",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ana}},
			agents: map[parley.ID]routing.Agent{cleo: gone, ana: busy(7)},
			want:   idp(ana),
		},
		{
			name:       "round robin skips a deactivated user at the cursor",
			entry:      routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben, cleo}, Cursor: 1},
			agents:     map[parley.ID]routing.Agent{ana: free, ben: gone, cleo: free},
			want:       idp(cleo),
			nextCursor: 0,
		},
		{
			name:   "least busy never picks an idle deactivated user",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{ana, ben}},
			agents: map[parley.ID]routing.Agent{ana: gone, ben: busy(9)},
			want:   idp(ben),
		},
		{
			name:   "a pool of deactivated users: nobody",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{ana, ben}},
			agents: map[parley.ID]routing.Agent{ana: gone, ben: gone},
			want:   nil,
		},
		{
			name:   "least busy ignores users at capacity",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{ana, ben}, Capacity: capacity(2)},
			agents: map[parley.ID]routing.Agent{ana: busy(2), ben: busy(2)},
			want:   nil,
		},
		{
			name:   "no capacity means no bound",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{ana}},
			agents: map[parley.ID]routing.Agent{ana: busy(10_000)},
			want:   idp(ana),
		},
		{
			name:   "one below capacity is eligible",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{ana, ben}, Capacity: capacity(5)},
			agents: map[parley.ID]routing.Agent{ana: busy(4), ben: free},
			want:   idp(ana),
		},
		{
			name:   "at capacity is skipped",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{ana, ben}, Capacity: capacity(5)},
			agents: map[parley.ID]routing.Agent{ana: busy(5), ben: busy(4)},
			want:   idp(ben),
		},
		{
			name:   "over capacity (the limit was lowered) is skipped",
			entry:  routing.Entry{Strategy: routing.LeastBusy, UserIDs: []parley.ID{ana}, Capacity: capacity(1)},
			agents: map[parley.ID]routing.Agent{ana: busy(3)},
			want:   nil,
		},
		{
			name:   "nobody available: nobody",
			entry:  routing.Entry{Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben}},
			agents: map[parley.ID]routing.Agent{ana: away, ben: away},
			want:   nil,
		},
		{
			name:   "a pool user the store knows nothing of is not available",
			entry:  routing.Entry{Strategy: routing.Priority, UserIDs: []parley.ID{dev, ana}},
			agents: map[parley.ID]routing.Agent{ana: free},
			want:   idp(ana),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := oneEntry(tc.entry)
			d := routing.Decide(table, routing.Subject{}, tc.agents)
			if who(d.UserID) != who(tc.want) {
				t.Fatalf("picked %s; want %s (reason %q, passed %q)", who(d.UserID), who(tc.want), d.Reason, d.Passed)
			}
			if d.Reason == "" {
				t.Error("the decision gives no reason")
			}
			if d.TableID != table.ID || d.TableName != table.Name {
				t.Errorf("decision names table %d %q; want %d %q", d.TableID, d.TableName, table.ID, table.Name)
			}
			if tc.want == nil {
				if d.EntryIndex != -1 {
					t.Errorf("EntryIndex = %d with nobody picked; want -1", d.EntryIndex)
				}
				if len(d.Passed) == 0 || !strings.Contains(d.Passed[0], "entries[0]") {
					t.Errorf("Passed = %q; want it to explain entries[0]", d.Passed)
				}
				return
			}
			if d.EntryIndex != 0 || d.EntryID != 9001 || d.Strategy != tc.entry.Strategy {
				t.Errorf("decided by entry %d (id %d, %s); want entry 0 (id 9001, %s)", d.EntryIndex, d.EntryID, d.Strategy, tc.entry.Strategy)
			}
			wantCursor := tc.entry.Cursor // only round robin moves it
			if tc.entry.Strategy == routing.RoundRobin {
				wantCursor = tc.nextCursor
			}
			if d.NextCursor != wantCursor {
				t.Errorf("NextCursor = %d; want %d", d.NextCursor, wantCursor)
			}
			if d.Sticky {
				t.Error("Sticky with no relationship")
			}
		})
	}
}

func TestDecideConditions(t *testing.T) {
	const inbox, otherInbox, channel, otherChannel parley.ID = 11, 12, 21, 22
	for _, tc := range []struct {
		name       string
		conditions string // JSON
		subject    routing.Subject
		attributes string // the contact's, JSON
		match      bool
	}{
		{"empty conditions route everything", `{}`, routing.Subject{}, `{}`, true},
		{"empty conditions route a typed contact too", `{}`, routing.Subject{ContactType: "applicant", InboxID: inbox, ChannelID: channel}, `{"state":"CA"}`, true},
		{"contact type equal", `{"contact_type":"applicant"}`, routing.Subject{ContactType: "applicant"}, `{}`, true},
		{"contact type different", `{"contact_type":"applicant"}`, routing.Subject{ContactType: "parent"}, `{}`, false},
		{"contact type required, contact has none", `{"contact_type":"applicant"}`, routing.Subject{}, `{}`, false},
		{"string attribute equal", `{"attributes":{"state":"CA"}}`, routing.Subject{}, `{"state":"CA"}`, true},
		{"string attribute different", `{"attributes":{"state":"CA"}}`, routing.Subject{}, `{"state":"NY"}`, false},
		{"string attribute differs in case", `{"attributes":{"state":"CA"}}`, routing.Subject{}, `{"state":"ca"}`, false},
		{"number attribute equal", `{"attributes":{"year":2026}}`, routing.Subject{}, `{"year":2026}`, true},
		{"number attribute written as a float", `{"attributes":{"year":2026}}`, routing.Subject{}, `{"year":2026.0}`, true},
		{"number attribute different", `{"attributes":{"year":2026}}`, routing.Subject{}, `{"year":2027}`, false},
		{"number condition, string attribute", `{"attributes":{"year":2026}}`, routing.Subject{}, `{"year":"2026"}`, false},
		{"bool attribute equal", `{"attributes":{"vip":true}}`, routing.Subject{}, `{"vip":true}`, true},
		{"bool attribute different", `{"attributes":{"vip":true}}`, routing.Subject{}, `{"vip":false}`, false},
		{"attribute in list", `{"attributes":{"state":["CA","NY","WA"]}}`, routing.Subject{}, `{"state":"NY"}`, true},
		{"attribute not in list", `{"attributes":{"state":["CA","NY","WA"]}}`, routing.Subject{}, `{"state":"TX"}`, false},
		{"number in a mixed list", `{"attributes":{"grade":[9,10,"transfer"]}}`, routing.Subject{}, `{"grade":10}`, true},
		{"missing attribute", `{"attributes":{"state":"CA"}}`, routing.Subject{}, `{"year":2026}`, false},
		{"missing attribute, list condition", `{"attributes":{"state":["CA","NY"]}}`, routing.Subject{}, `{}`, false},
		{"several attributes all equal", `{"attributes":{"state":"CA","vip":true}}`, routing.Subject{}, `{"state":"CA","vip":true,"x":1}`, true},
		{"several attributes, one different", `{"attributes":{"state":"CA","vip":true}}`, routing.Subject{}, `{"state":"CA","vip":false}`, false},
		{"inbox equal", fmt.Sprintf(`{"inbox_id":"%d"}`, inbox), routing.Subject{InboxID: inbox}, `{}`, true},
		{"inbox different", fmt.Sprintf(`{"inbox_id":"%d"}`, inbox), routing.Subject{InboxID: otherInbox}, `{}`, false},
		{"channel equal", fmt.Sprintf(`{"channel_id":"%d"}`, channel), routing.Subject{ChannelID: channel}, `{}`, true},
		{"channel different", fmt.Sprintf(`{"channel_id":"%d"}`, channel), routing.Subject{ChannelID: otherChannel}, `{}`, false},
		{
			"all conditions hold",
			fmt.Sprintf(`{"contact_type":"applicant","attributes":{"state":["CA","NY"]},"inbox_id":"%d","channel_id":"%d"}`, inbox, channel),
			routing.Subject{ContactType: "applicant", InboxID: inbox, ChannelID: channel}, `{"state":"CA"}`, true,
		},
		{
			"all but the channel hold",
			fmt.Sprintf(`{"contact_type":"applicant","attributes":{"state":["CA","NY"]},"inbox_id":"%d","channel_id":"%d"}`, inbox, channel),
			routing.Subject{ContactType: "applicant", InboxID: inbox, ChannelID: otherChannel}, `{"state":"CA"}`, false,
		},
		{
			"all but the attribute hold",
			fmt.Sprintf(`{"contact_type":"applicant","attributes":{"state":["CA","NY"]},"inbox_id":"%d","channel_id":"%d"}`, inbox, channel),
			routing.Subject{ContactType: "applicant", InboxID: inbox, ChannelID: channel}, `{"state":"TX"}`, false,
		},
		{
			"all but the contact type hold",
			fmt.Sprintf(`{"contact_type":"applicant","attributes":{"state":["CA","NY"]},"inbox_id":"%d","channel_id":"%d"}`, inbox, channel),
			routing.Subject{ContactType: "parent", InboxID: inbox, ChannelID: channel}, `{"state":"CA"}`, false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.subject
			s.Attributes = attributes(t, tc.attributes)
			table := oneEntry(routing.Entry{Conditions: conditions(t, tc.conditions), Strategy: routing.Priority, UserIDs: []parley.ID{ana}})
			d := routing.Decide(table, s, everyoneFree(ana))
			if got := d.UserID != nil; got != tc.match {
				t.Fatalf("matched = %v; want %v (reason %q, passed %q)", got, tc.match, d.Reason, d.Passed)
			}
			if !tc.match {
				if d.EntryIndex != -1 || d.Reason == "" {
					t.Errorf("no match: EntryIndex %d, reason %q; want -1 and a reason", d.EntryIndex, d.Reason)
				}
				if len(d.Passed) != 1 || !strings.HasPrefix(d.Passed[0], "entries[0]: ") {
					t.Errorf("Passed = %q; want one line explaining entries[0]", d.Passed)
				}
			}
		})
	}
}

func TestDecideEntryOrder(t *testing.T) {
	spanish := routing.Entry{ID: 1, Conditions: routing.Conditions{Attributes: map[string]any{"language": "es"}},
		Strategy: routing.Priority, UserIDs: []parley.ID{ana}}
	vip := routing.Entry{ID: 2, Conditions: routing.Conditions{Attributes: map[string]any{"vip": true}},
		Strategy: routing.LeastBusy, UserIDs: []parley.ID{ben, cleo}, Capacity: capacity(2)}
	everyone := routing.Entry{ID: 3, Strategy: routing.RoundRobin, UserIDs: []parley.ID{dev, ben}, Cursor: 1}
	table := routing.Table{ID: 7, Name: "Admissions", Entries: []routing.Entry{spanish, vip, everyone}}

	for _, tc := range []struct {
		name       string
		attributes map[string]any
		agents     map[parley.ID]routing.Agent
		want       *parley.ID
		entry      int
		passed     []string // prefixes of the Passed lines, in order
	}{
		{
			name:       "the first matching entry wins over later ones",
			attributes: map[string]any{"language": "es", "vip": true},
			agents:     everyoneFree(ana, ben, cleo, dev),
			want:       idp(ana),
			entry:      0,
		},
		{
			name:       "entries that do not match are passed over and say why",
			attributes: map[string]any{"vip": true},
			agents:     map[parley.ID]routing.Agent{ana: free, ben: busy(1), cleo: free, dev: free},
			want:       idp(cleo),
			entry:      1,
			passed:     []string{"entries[0]: attribute"},
		},
		{
			name:       "a matching entry with nobody eligible is passed over and reported",
			attributes: map[string]any{"language": "es", "vip": true},
			agents:     map[parley.ID]routing.Agent{ana: away, ben: busy(2), cleo: away, dev: free},
			want:       idp(ben), // the catch-all has no capacity; its cursor points at ben
			entry:      2,
			passed:     []string{"entries[0]: no user", "entries[1]: no user"},
		},
		{
			name:       "nothing matches with anyone eligible: nobody, every entry explained",
			attributes: map[string]any{"language": "es"},
			agents:     map[parley.ID]routing.Agent{ana: away, ben: away, cleo: free, dev: away},
			want:       nil,
			entry:      -1,
			passed:     []string{"entries[0]: no user", "entries[1]: attribute", "entries[2]: no user"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.Decide(table, routing.Subject{Attributes: tc.attributes}, tc.agents)
			if who(d.UserID) != who(tc.want) || d.EntryIndex != tc.entry {
				t.Fatalf("picked %s by entry %d; want %s by entry %d (reason %q, passed %q)",
					who(d.UserID), d.EntryIndex, who(tc.want), tc.entry, d.Reason, d.Passed)
			}
			if tc.entry >= 0 {
				e := table.Entries[tc.entry]
				if d.EntryID != e.ID || d.Strategy != e.Strategy {
					t.Errorf("decision names entry id %d, %s; want %d, %s", d.EntryID, d.Strategy, e.ID, e.Strategy)
				}
			}
			if len(d.Passed) != len(tc.passed) {
				t.Fatalf("Passed = %q; want %d lines starting %q", d.Passed, len(tc.passed), tc.passed)
			}
			for i, p := range tc.passed {
				if !strings.HasPrefix(d.Passed[i], p) {
					t.Errorf("Passed[%d] = %q; want it to start %q", i, d.Passed[i], p)
				}
			}
			if d.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

func TestDecideSticky(t *testing.T) {
	applicants := routing.Entry{ID: 1, Conditions: routing.Conditions{ContactType: "applicant"},
		Strategy: routing.RoundRobin, UserIDs: []parley.ID{ana, ben}, Capacity: capacity(3), Cursor: 0}
	parents := routing.Entry{ID: 2, Conditions: routing.Conditions{ContactType: "parent"},
		Strategy: routing.Priority, UserIDs: []parley.ID{dev}}
	overflow := routing.Entry{ID: 3, Strategy: routing.Priority, UserIDs: []parley.ID{cleo, ben}}
	table := routing.Table{ID: 7, Name: "Admissions", Entries: []routing.Entry{applicants, parents, overflow}}
	applicant := func(sticky parley.ID) routing.Subject {
		return routing.Subject{ContactType: "applicant", Relationship: "counselor", Sticky: &sticky}
	}

	for _, tc := range []struct {
		name    string
		subject routing.Subject
		agents  map[parley.ID]routing.Agent
		want    parley.ID
		sticky  bool
		entry   int
		passed  string // a fragment of the first Passed line; "" for none
	}{
		{
			name:    "the contact's counselor wins over round robin's turn",
			subject: applicant(ben),
			agents:  everyoneFree(ana, ben, cleo, dev),
			want:    ben, sticky: true, entry: 0,
		},
		{
			name:    "the counselor wins while one below capacity",
			subject: applicant(ben),
			agents:  map[parley.ID]routing.Agent{ana: free, ben: busy(2), cleo: free, dev: free},
			want:    ben, sticky: true, entry: 0,
		},
		{
			name:    "the counselor found through a later matching entry",
			subject: routing.Subject{ContactType: "applicant", Relationship: "counselor", Sticky: idp(cleo)},
			agents:  everyoneFree(ana, ben, cleo, dev),
			want:    cleo, sticky: true, entry: 2,
		},
		{
			// Decide's contract: "under the capacity of a matching entry
			// that lists them" — any such entry, not only the first.
			name:    "the counselor at one entry's capacity but under another matching entry's",
			subject: applicant(ben),
			agents:  map[parley.ID]routing.Agent{ana: free, ben: busy(3), cleo: free, dev: free},
			want:    ben, sticky: true, entry: 2,
		},
		{
			name:    "an unavailable counselor: normal routing, explained",
			subject: applicant(ben),
			agents:  map[parley.ID]routing.Agent{ana: free, ben: away, cleo: free, dev: free},
			want:    ana, sticky: false, entry: 0,
			passed: "unavailable or at capacity",
		},
		{
			name:    "a deactivated counselor: normal routing, explained",
			subject: applicant(ben),
			agents:  map[parley.ID]routing.Agent{ana: free, ben: gone, cleo: free, dev: free},
			want:    ana, sticky: false, entry: 0,
			passed: "deactivated",
		},
		{
			name:    "a counselor at capacity: normal routing, explained",
			subject: applicant(ana),
			agents:  map[parley.ID]routing.Agent{ana: busy(3), ben: busy(1), cleo: free, dev: free},
			want:    ben, sticky: false, entry: 0,
			passed: "unavailable or at capacity",
		},
		{
			name:    "a counselor in no matching pool: normal routing, explained",
			subject: applicant(dev), // dev routes parents only
			agents:  everyoneFree(ana, ben, cleo, dev),
			want:    ana, sticky: false, entry: 0,
			passed: "no matching pool",
		},
		{
			name:    "a counselor who left every pool: normal routing, explained",
			subject: applicant(999),
			agents:  everyoneFree(ana, ben, cleo, dev),
			want:    ana, sticky: false, entry: 0,
			passed: "no matching pool",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.Decide(table, tc.subject, tc.agents)
			if d.UserID == nil || *d.UserID != tc.want || d.Sticky != tc.sticky || d.EntryIndex != tc.entry {
				t.Fatalf("picked %s (sticky %v) by entry %d; want %s (sticky %v) by entry %d (reason %q, passed %q)",
					who(d.UserID), d.Sticky, d.EntryIndex, tc.want, tc.sticky, tc.entry, d.Reason, d.Passed)
			}
			if d.Relationship != "counselor" {
				t.Errorf("Relationship = %q; want the contact type's, counselor", d.Relationship)
			}
			e := table.Entries[tc.entry]
			if d.EntryID != e.ID || d.Strategy != e.Strategy {
				t.Errorf("decision names entry %d, %s; want %d, %s", d.EntryID, d.Strategy, e.ID, e.Strategy)
			}
			if tc.sticky && d.NextCursor != e.Cursor {
				t.Errorf("a sticky pick moved the round-robin cursor to %d; want it left at %d", d.NextCursor, e.Cursor)
			}
			if tc.passed == "" {
				if len(d.Passed) != 0 {
					t.Errorf("Passed = %q; want nothing passed over", d.Passed)
				}
				return
			}
			if len(d.Passed) == 0 || !strings.Contains(d.Passed[0], tc.passed) || !strings.Contains(d.Passed[0], "counselor") {
				t.Errorf("Passed = %q; want it to say the counselor was passed over (%q)", d.Passed, tc.passed)
			}
		})
	}

	t.Run("a sticky user never bypasses the conditions", func(t *testing.T) {
		onlyParents := routing.Table{ID: 8, Entries: []routing.Entry{parents}}
		d := routing.Decide(onlyParents, applicant(dev), everyoneFree(dev))
		if d.UserID != nil {
			t.Fatalf("picked %s for an applicant through a parents-only table", who(d.UserID))
		}
	})
}

func TestDecideNoMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table routing.Table
	}{
		{"no entry matches", routing.Table{ID: 1, Entries: []routing.Entry{
			{Conditions: routing.Conditions{ContactType: "parent"}, Strategy: routing.Priority, UserIDs: []parley.ID{ana}},
		}}},
		{"a table without entries", routing.Table{ID: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := routing.Decide(tc.table, routing.Subject{ContactType: "applicant", Relationship: "counselor"}, everyoneFree(ana))
			if d.UserID != nil || d.EntryIndex != -1 || d.Sticky {
				t.Fatalf("decision %+v; want nobody, entry -1", d)
			}
			if d.Reason == "" {
				t.Error("no reason given for leaving the conversation waiting")
			}
			if d.Relationship != "counselor" {
				t.Errorf("Relationship = %q; want counselor even when nobody is picked", d.Relationship)
			}
		})
	}
}

// TestDecideRoundRobinIsFair feeds each decision's NextCursor back, as the
// store does: with everyone available and no capacity, nobody gets more
// than one conversation more than anybody else, however many are routed
// and wherever the cursor started.
func TestDecideRoundRobinIsFair(t *testing.T) {
	fair := func(poolSize, decisions uint16, start uint8) bool {
		n := int(poolSize%12) + 1
		steps := int(decisions % 2000)
		pool := make([]parley.ID, n)
		for i := range pool {
			pool[i] = parley.ID(1000 + i)
		}
		table := routing.Table{Entries: []routing.Entry{{Strategy: routing.RoundRobin, UserIDs: pool, Cursor: int(start) % n}}}
		counts := map[parley.ID]int{}
		for range steps {
			d := routing.Decide(table, routing.Subject{}, everyoneFree(pool...))
			if d.UserID == nil {
				return false
			}
			counts[*d.UserID]++
			table.Entries[0].Cursor = d.NextCursor
		}
		lo, hi := steps, 0
		for _, id := range pool {
			lo, hi = min(lo, counts[id]), max(hi, counts[id])
		}
		return hi-lo <= 1
	}
	if err := quick.Check(fair, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}

	t.Run("unavailable users are skipped and the rest stay even", func(t *testing.T) {
		pool := []parley.ID{ana, ben, cleo, dev}
		agents := map[parley.ID]routing.Agent{ana: free, ben: away, cleo: free, dev: free}
		table := routing.Table{Entries: []routing.Entry{{Strategy: routing.RoundRobin, UserIDs: pool, Cursor: 1}}}
		var got []parley.ID
		for range 7 {
			d := routing.Decide(table, routing.Subject{}, agents)
			got = append(got, *d.UserID)
			table.Entries[0].Cursor = d.NextCursor
		}
		want := []parley.ID{cleo, dev, ana, cleo, dev, ana, cleo}
		if !slices.Equal(got, want) {
			t.Errorf("picks %v; want %v", got, want)
		}
	})
}
