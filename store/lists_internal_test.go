package store

import (
	"math"
	"testing"

	"github.com/parleyhq/parley/conversations"
)

func TestStatusSpan(t *testing.T) {
	tests := []struct {
		statuses []conversations.Status
		lo, hi   string
		exact    bool
	}{
		{[]conversations.Status{"open"}, "open", "open", true},
		{[]conversations.Status{"open", "new"}, "new", "open", true},
		{[]conversations.Status{"new", "open", "new"}, "new", "open", true},
		{[]conversations.Status{"closed", "pending"}, "closed", "pending", false}, // not new, open
		{[]conversations.Status{"resolved", "snoozed"}, "resolved", "snoozed", true},
		{[]conversations.Status{"closed", "new", "open", "pending", "resolved", "snoozed"}, "closed", "snoozed", true},
	}
	for _, tt := range tests {
		lo, hi, exact := statusSpan(tt.statuses)
		if lo != tt.lo || hi != tt.hi || exact != tt.exact {
			t.Errorf("statusSpan(%v) = %s, %s, %v; want %s, %s, %v", tt.statuses, lo, hi, exact, tt.lo, tt.hi, tt.exact)
		}
	}
}

func TestHitsSearch(t *testing.T) {
	// As in a seeded inbox: names in 6% of conversations, common words in
	// nearly all, rare words unlisted.
	freq := map[string]float64{"ada": 0.0625, "hopper": 0.0625, "quote": 0.99, "quiet": 0.01, "hello": 0.9}
	const rare = 0.06
	tests := []struct {
		terms []string
		whole string
		ok    bool
	}{
		{[]string{"gutter"}, "", false},             // one term: the whole query
		{[]string{"gutter", "quo"}, "gutter", true}, // a rare word, a common prefix
		{[]string{"gutter", "q"}, "gutter", true},   // the prefix spans quote and quiet
		{[]string{"ada", "hopper"}, "", false},      // as common as each other
		{[]string{"quote", "gut"}, "", false},       // the prefix is the rare part
		{[]string{"hello", "quote", "ada", "qu"}, "hello & quote & ada", true},
		{[]string{"gutter", "zzz"}, "", false}, // a prefix of nothing listed
	}
	for _, tt := range tests {
		whole, ok := hitsSearch(tt.terms, freq, rare)
		if whole != tt.whole || ok != tt.ok {
			t.Errorf("hitsSearch(%v) = %q, %v; want %q, %v", tt.terms, whole, ok, tt.whole, tt.ok)
		}
	}
	// Without statistics every word counts as common.
	if _, ok := hitsSearch([]string{"gutter", "quo"}, map[string]float64{}, 1); ok {
		t.Error("hitsSearch without statistics looked up part of the query")
	}
}

func TestTermShares(t *testing.T) {
	// As in a seeded inbox analysed with migration 00019's statistics:
	// names in 6% of conversations, common words in nearly all, every
	// word listed down to the rarest.
	freq := map[string]float64{"ada": 0.0625, "hopper": 0.0625, "quote": 0.99, "gutter": 0.001, "gutters": 0.0005}
	const rare = 0.0005
	tests := []struct {
		terms           []string
		bound, expected float64
	}{
		{[]string{"gutter"}, 0.002, 0.002},                  // a prefix: gutter, gutters and one unlisted word
		{[]string{"gutter", "quo"}, 0.001, 0.0009905},       // the rare whole word bounds it
		{[]string{"ada", "hopper"}, 0.0625, 0.0625 * 0.063}, // common apart, rare together
		{[]string{"zqxj"}, rare, rare},                      // an unlisted prefix
		{[]string{"zqxj", "quote"}, rare, rare * 0.9905},    // an unlisted whole word
		{[]string{"q"}, 0.9905, 0.9905},                     // a prefix of nearly every document
	}
	for _, tt := range tests {
		bound, expected := matchShare(tt.terms, freq, rare), expectedShare(tt.terms, freq, rare)
		if math.Abs(bound-tt.bound) > 1e-9 || math.Abs(expected-tt.expected) > 1e-9 {
			t.Errorf("%v: bound %g, expected %g; want %g, %g", tt.terms, bound, expected, tt.bound, tt.expected)
		}
	}
}

func TestRecentFallsShort(t *testing.T) {
	// As at 1M seeded conversations: 50 agents with 1.6% each, 23.5%
	// unassigned, 40% new or open; 99,884 in the recent index.
	stats := termStats{
		freq: map[string]float64{"ada": 0.0627, "hopper": 0.0627, "quote": 0.99}, rare: 0.00086, docs: 1e6,
		assignee: valueStats{null: 0.235, freq: map[string]float64{"25": 0.0156}, other: 0.0153},
		status:   valueStats{freq: map[string]float64{"new": 0.1, "open": 0.3, "resolved": 0.35}, other: 0.05},
	}
	const recent = 99884
	search := func(q string) searchCond { return searchCond{terms: searchTerms(q)} }
	mine := conversationWhere{view: "mine", assignee: 25}
	unassigned := conversationWhere{view: "unassigned", unassigned: true}
	tests := []struct {
		name  string
		w     conversationWhere
		q     string
		short bool
	}{
		{"view=mine q=ada hopper: 6 expected", mine, "ada hopper", true},
		{"view=mine q=quote: a page and more", mine, "quote", false},
		{"view=unassigned q=ada hopper: 92 expected", unassigned, "ada hopper", false},
		{"view=unassigned status=new,open q=ada hopper: 37 expected", withStatuses(unassigned, "new", "open"), "ada hopper", true},
		{"view=all: not narrowed, its hits are all the account's", conversationWhere{}, "ada hopper", false},
		{"an agent the statistics do not list", conversationWhere{view: "mine", assignee: 7}, "ada hopper", true},
	}
	for _, tt := range tests {
		tt.w.q = search(tt.q)
		if got := recentFallsShort(tt.w, stats, recent, 51); got != tt.short {
			t.Errorf("%s: recentFallsShort = %v", tt.name, got)
		}
	}
	// Without statistics, or with phone digits in the search, the recent
	// index is always tried.
	mine.q = search("ada hopper")
	if recentFallsShort(mine, termStats{freq: map[string]float64{}, rare: 1}, recent, 51) {
		t.Error("without statistics the recent index was skipped")
	}
	mine.q.phone = []string{"cv.contact_phone = ?"}
	if recentFallsShort(mine, stats, recent, 51) {
		t.Error("a search with phone digits skipped the recent index")
	}
}

func withStatuses(w conversationWhere, statuses ...conversations.Status) conversationWhere {
	w.statuses = statuses
	return w
}
