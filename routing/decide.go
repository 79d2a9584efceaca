package routing

import (
	"fmt"
	"reflect"

	"github.com/parleyhq/parley"
)

// Subject is the conversation being routed, seen through its contact.
type Subject struct {
	ContactType string
	Attributes  map[string]any
	InboxID     parley.ID
	ChannelID   parley.ID
	// Relationship is the contact type's relationship ("counselor"), ""
	// when the contact has no type; Sticky is the contact's user for it.
	Relationship string
	Sticky       *parley.ID
}

// Agent is a pool member's state at decision time.
type Agent struct {
	// Active is false for a deactivated user, who is never picked, not
	// even as a contact's sticky user.
	Active    bool
	Available bool
	Load      int // new+open conversations assigned to the user
}

// Decision says who gets a conversation and why.
type Decision struct {
	TableID      parley.ID
	TableName    string
	UserID       *parley.ID // nil: nobody now; the conversation waits
	EntryIndex   int        // the deciding entry, -1 when none
	EntryID      parley.ID
	Strategy     Strategy
	Sticky       bool   // the contact's existing relationship won
	Relationship string // recorded on the contact for the chosen user
	Reason       string
	// NextCursor is the deciding entry's round-robin cursor after the pick.
	NextCursor int
	// Passed lists what was passed over on the way, for explanations.
	Passed []string
}

// Decide applies a table to a subject. The contact's existing relationship
// wins while that user is available and under the capacity of a matching
// entry that lists them (sticky). Otherwise the first entry whose
// conditions hold and that has an eligible user picks one by its strategy.
// No entry: nobody, and the conversation waits for capacity to free.
func Decide(t Table, s Subject, agents map[parley.ID]Agent) Decision {
	d := Decision{TableID: t.ID, TableName: t.Name, EntryIndex: -1, Relationship: s.Relationship}
	if s.Sticky != nil {
		if i, ok := stickyEntry(t, s, agents, &d); ok {
			e := t.Entries[i]
			d.UserID, d.EntryIndex, d.EntryID, d.Strategy, d.Sticky, d.NextCursor = s.Sticky, i, e.ID, e.Strategy, true, e.Cursor
			d.Reason = fmt.Sprintf("user %s already is the contact's %s and is available under capacity", *s.Sticky, s.Relationship)
			return d
		}
	}
	for i, e := range t.Entries {
		if why := e.Conditions.mismatch(s); why != "" {
			d.Passed = append(d.Passed, fmt.Sprintf("entries[%d]: %s", i, why))
			continue
		}
		pos, ok := pick(e, agents)
		if !ok {
			d.Passed = append(d.Passed, fmt.Sprintf("entries[%d]: no user of the pool is available under capacity", i))
			continue
		}
		user := e.UserIDs[pos]
		d.UserID, d.EntryIndex, d.EntryID, d.Strategy = &user, i, e.ID, e.Strategy
		d.NextCursor = e.Cursor
		if e.Strategy == RoundRobin {
			d.NextCursor = (pos + 1) % len(e.UserIDs)
		}
		d.Reason = fmt.Sprintf("entries[%d] matched and %s picked user %s", i, e.Strategy, user)
		return d
	}
	d.Reason = "no entry matched with an available user under capacity"
	return d
}

// stickyEntry finds a matching entry that lists the sticky user and under
// whose capacity they are, the first such in table order.
func stickyEntry(t Table, s Subject, agents map[parley.ID]Agent, d *Decision) (int, bool) {
	a := agents[*s.Sticky]
	listed := false
	for i, e := range t.Entries {
		if e.Conditions.mismatch(s) != "" || !contains(e.UserIDs, *s.Sticky) {
			continue
		}
		if eligible(a, e) {
			return i, true
		}
		listed = true
	}
	if listed {
		d.Passed = append(d.Passed, fmt.Sprintf("the contact's %s, user %s, is deactivated, unavailable or at capacity", s.Relationship, *s.Sticky))
	} else {
		d.Passed = append(d.Passed, fmt.Sprintf("the contact's %s, user %s, is in no matching pool", s.Relationship, *s.Sticky))
	}
	return 0, false
}

// pick returns the pool position the entry's strategy chooses.
func pick(e Entry, agents map[parley.ID]Agent) (int, bool) {
	n := len(e.UserIDs)
	if n == 0 {
		return 0, false // Validate refuses empty pools; never divide by zero
	}
	switch e.Strategy {
	case RoundRobin:
		start := ((e.Cursor % n) + n) % n
		for k := 0; k < n; k++ {
			if pos := (start + k) % n; eligible(agents[e.UserIDs[pos]], e) {
				return pos, true
			}
		}
	case LeastBusy:
		best := -1
		for pos, u := range e.UserIDs {
			if a := agents[u]; eligible(a, e) && (best < 0 || a.Load < agents[e.UserIDs[best]].Load) {
				best = pos
			}
		}
		return best, best >= 0
	default: // Priority
		for pos, u := range e.UserIDs {
			if eligible(agents[u], e) {
				return pos, true
			}
		}
	}
	return 0, false
}

func eligible(a Agent, e Entry) bool {
	return a.Active && a.Available && (e.Capacity == nil || a.Load < *e.Capacity)
}

func contains(ids []parley.ID, id parley.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// mismatch returns why the conditions do not hold, "" when they do.
func (c Conditions) mismatch(s Subject) string {
	switch {
	case c.ContactType != "" && c.ContactType != s.ContactType:
		return fmt.Sprintf("contact type is %q, not %q", s.ContactType, c.ContactType)
	case c.InboxID != nil && *c.InboxID != s.InboxID:
		return "another inbox"
	case c.ChannelID != nil && *c.ChannelID != s.ChannelID:
		return "another channel"
	}
	for k, want := range c.Attributes {
		if !attributeMatches(s.Attributes[k], want) {
			return fmt.Sprintf("attribute %q does not match", k)
		}
	}
	return ""
}

// attributeMatches compares JSON values: equal, or one of a list.
func attributeMatches(got, want any) bool {
	if list, ok := want.([]any); ok {
		for _, w := range list {
			if reflect.DeepEqual(got, w) {
				return true
			}
		}
		return false
	}
	return reflect.DeepEqual(got, want)
}
