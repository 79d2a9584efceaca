// Package routing assigns conversations to staff automatically: routing
// tables of ordered entries (conditions on the contact, a pool of users, a
// strategy and a capacity), contact types that pick a table and name the
// relationship the chosen user gets with the contact, and the decision
// rule itself, a pure function the store runs inside its transaction.
package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Strategy picks a user from an entry's pool.
type Strategy string

// Strategies.
const (
	// Priority: the first available user in the pool's order.
	Priority Strategy = "priority"
	// RoundRobin: the next available user after the last one picked.
	RoundRobin Strategy = "round_robin"
	// LeastBusy: the available user with the fewest new+open conversations.
	LeastBusy Strategy = "least_busy"
)

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool { return s == Priority || s == RoundRobin || s == LeastBusy }

// Conditions select the conversations an entry routes; all given ones must
// hold, and an entry with none routes everything.
type Conditions struct {
	ContactType string `json:"contact_type,omitempty"`
	// Attributes: the contact's attribute equals the value, or is one of
	// the values when the value is a list.
	Attributes map[string]any `json:"attributes,omitempty"`
	InboxID    *parley.ID     `json:"inbox_id,omitempty"`
	ChannelID  *parley.ID     `json:"channel_id,omitempty"`
}

// UnmarshalJSON reads conditions strictly, as every request body is read,
// and takes "type" for contact_type: DESIGN.md names the contact's type
// so. Both, and different, is an error.
func (c *Conditions) UnmarshalJSON(b []byte) error {
	// Conditions' fields spelled out, not embedded: a decoding error
	// names the field as the client wrote it.
	var in struct {
		ContactType string         `json:"contact_type"`
		Type        *string        `json:"type"`
		Attributes  map[string]any `json:"attributes"`
		InboxID     *parley.ID     `json:"inbox_id"`
		ChannelID   *parley.ID     `json:"channel_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return err
	}
	if in.Type != nil {
		if in.ContactType != "" && in.ContactType != *in.Type {
			return parley.Invalid(map[string]string{"type": "names another contact type than contact_type; give one of them"})
		}
		in.ContactType = *in.Type
	}
	*c = Conditions{ContactType: in.ContactType, Attributes: in.Attributes, InboxID: in.InboxID, ChannelID: in.ChannelID}
	return nil
}

// Entry is one line of a routing table.
type Entry struct {
	ID         parley.ID
	Conditions Conditions
	UserIDs    []parley.ID
	Strategy   Strategy
	// Capacity bounds each user's new+open conversations; nil: no bound.
	Capacity *int
	// Cursor is where round-robin resumes: the pool index after the last
	// user it picked. It lives in the database and moves atomically.
	Cursor int
}

// Table is an ordered list of entries.
type Table struct {
	ID        parley.ID
	AccountID parley.ID
	Name      string
	// Default tables route contacts that have no contact type (or a type
	// without a table). At most one per account.
	Default   bool
	Entries   []Entry
	CreatedAt time.Time
	UpdatedAt time.Time
}

// maxEntries and maxPool bound a table: larger ones are configuration
// mistakes, and every decision reads the whole table.
const (
	maxEntries = 100
	maxPool    = 500
)

// Validate checks a table's shape; knownUser tells whether an id is a user
// of the account, knownInbox and knownChannel the same for conditions.
// Errors name the entry: "entries[2].user_ids".
func (t *Table) Validate(knownUser, knownInbox, knownChannel func(parley.ID) bool) error {
	fields := map[string]string{}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 200 {
		fields["name"] = "is required, at most 200 bytes"
	}
	if len(t.Entries) == 0 {
		fields["entries"] = "at least one entry is required"
	}
	if len(t.Entries) > maxEntries {
		fields["entries"] = fmt.Sprintf("at most %d entries", maxEntries)
	}
	for i := range t.Entries {
		validateEntry(&t.Entries[i], fmt.Sprintf("entries[%d]", i), fields, knownUser, knownInbox, knownChannel)
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

func validateEntry(e *Entry, name string, fields map[string]string, knownUser, knownInbox, knownChannel func(parley.ID) bool) {
	if !e.Strategy.Valid() {
		fields[name+".strategy"] = `must be "priority", "round_robin" or "least_busy"`
	}
	switch {
	case len(e.UserIDs) == 0:
		fields[name+".user_ids"] = "the pool must name at least one user"
	case len(e.UserIDs) > maxPool:
		fields[name+".user_ids"] = fmt.Sprintf("at most %d users", maxPool)
	}
	seen := map[parley.ID]bool{}
	for _, id := range e.UserIDs {
		if seen[id] {
			fields[name+".user_ids"] = fmt.Sprintf("user %s is listed twice", id)
		}
		seen[id] = true
		if !knownUser(id) {
			fields[name+".user_ids"] = fmt.Sprintf("user %s is not a user of this account", id)
		}
	}
	if e.Capacity != nil && *e.Capacity < 1 {
		fields[name+".capacity"] = "must be at least 1 (leave it out for no limit)"
	}
	c := e.Conditions
	if c.InboxID != nil && !knownInbox(*c.InboxID) {
		fields[name+".conditions.inbox_id"] = "no such inbox"
	}
	if c.ChannelID != nil && !knownChannel(*c.ChannelID) {
		fields[name+".conditions.channel_id"] = "no such channel"
	}
	for k, v := range c.Attributes {
		if !scalarOrList(v) {
			fields[name+".conditions.attributes."+k] = "must be a string, number, boolean or a list of them"
		}
	}
}

func scalarOrList(v any) bool {
	switch x := v.(type) {
	case string, float64, bool:
		return true
	case []any:
		for _, e := range x {
			switch e.(type) {
			case string, float64, bool:
			default:
				return false
			}
		}
		return len(x) > 0
	}
	return false
}

// ContactType is a kind of contact (e.g. "applicant"): it names the
// relationship a routed user gets with the contact ("counselor") and the
// table that routes its conversations.
type ContactType struct {
	ID             parley.ID
	AccountID      parley.ID
	Name           string
	Relationship   string
	RoutingTableID *parley.ID
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Validate checks a contact type.
func (c *ContactType) Validate() error {
	fields := map[string]string{}
	c.Name, c.Relationship = strings.TrimSpace(c.Name), strings.TrimSpace(c.Relationship)
	if c.Name == "" || len(c.Name) > 100 {
		fields["name"] = "is required, at most 100 bytes"
	}
	if c.Relationship == "" || len(c.Relationship) > 100 {
		fields["relationship"] = "is required, at most 100 bytes (e.g. \"counselor\")"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// Store persists routing configuration and runs decisions atomically.
type Store interface {
	CreateRoutingTable(ctx context.Context, t Table) (Table, error)
	GetRoutingTable(ctx context.Context, accountID, id parley.ID) (Table, error)
	ListRoutingTables(ctx context.Context, accountID parley.ID, page parley.Page) ([]Table, string, error)
	// ReplaceRoutingTable replaces a table's name and entries (PUT);
	// round-robin cursors restart.
	ReplaceRoutingTable(ctx context.Context, t Table) (Table, error)
	// DeleteRoutingTable deletes a table; ECONFLICT (table_in_use) while a
	// contact type uses it.
	DeleteRoutingTable(ctx context.Context, accountID, id parley.ID) error

	CreateContactType(ctx context.Context, c ContactType) (ContactType, error)
	ListContactTypes(ctx context.Context, accountID parley.ID, page parley.Page) ([]ContactType, string, error)
	// GetContactType returns one of the account's contact types;
	// ENOTFOUND when it has none with that id.
	GetContactType(ctx context.Context, accountID, id parley.ID) (ContactType, error)
	UpdateContactType(ctx context.Context, c ContactType) (ContactType, error)

	// AutoAssign decides and applies an assignment for a conversation that
	// is new or open without an assignee, when the account allows it. It
	// returns the decision; Decision.UserID is nil when nobody was picked.
	AutoAssign(ctx context.Context, accountID, conversationID parley.ID, at time.Time) (Decision, error)
	// AutoAssignAllowed reports whether the account has auto-assignment
	// switched on.
	AutoAssignAllowed(ctx context.Context, accountID parley.ID) (bool, error)
	// Simulate decides for a contact's most recent conversation (or a
	// fresh one) with the given table, without assigning.
	Simulate(ctx context.Context, accountID, tableID, contactID parley.ID) (Decision, error)
	// WaitingConversations lists a page of the unassigned new/open
	// conversations of accounts that allow auto-assignment (of one account
	// when accountID is not 0), longest-waiting first, after the given one
	// (the zero Waiting starts at the beginning).
	WaitingConversations(ctx context.Context, accountID parley.ID, after Waiting, limit int) ([]Waiting, error)
}

// FreesCapacity reports whether a conversation in status s is out of its
// assignee's load, which counts only new and open conversations.
func FreesCapacity(s conversations.Status) bool {
	return s != conversations.StatusNew && s != conversations.StatusOpen
}
