package routing

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// DirectoryStore lists what a routing table may refer to.
type DirectoryStore interface {
	ListUsers(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.User, string, error)
	ListInboxes(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.Inbox, string, error)
	ListChannels(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.Channel, string, error)
}

// Directory is an account's users, inboxes and channels: what a routing
// table's pools and conditions name, and what a form offers to pick.
type Directory struct {
	Users    []conversations.User
	Inboxes  []conversations.Inbox
	Channels []conversations.Channel
}

// LoadDirectory reads all of an account's users, inboxes and channels.
func LoadDirectory(ctx context.Context, s DirectoryStore, accountID parley.ID) (Directory, error) {
	var d Directory
	var err error
	if d.Users, err = parley.All(func(p parley.Page) ([]conversations.User, string, error) { return s.ListUsers(ctx, accountID, p) }); err != nil {
		return d, err
	}
	if d.Inboxes, err = parley.All(func(p parley.Page) ([]conversations.Inbox, string, error) { return s.ListInboxes(ctx, accountID, p) }); err != nil {
		return d, err
	}
	d.Channels, err = parley.All(func(p parley.Page) ([]conversations.Channel, string, error) { return s.ListChannels(ctx, accountID, p) })
	return d, err
}

// Validate checks a table (Table.Validate) against the directory: its
// pools name the account's users, its conditions the account's inboxes
// and channels.
func (d Directory) Validate(t *Table) error {
	users, inboxes, channels := map[parley.ID]bool{}, map[parley.ID]bool{}, map[parley.ID]bool{}
	for _, u := range d.Users {
		users[u.ID] = true
	}
	for _, i := range d.Inboxes {
		inboxes[i.ID] = true
	}
	for _, c := range d.Channels {
		channels[c.ID] = true
	}
	has := func(m map[parley.ID]bool) func(parley.ID) bool { return func(id parley.ID) bool { return m[id] } }
	return t.Validate(has(users), has(inboxes), has(channels))
}

// Simulate asks the store who table tableID would pick for the contact
// now, and why, without assigning. An unknown contact of a table that
// exists is the caller's invalid contact_id; an unknown table, ENOTFOUND.
func Simulate(ctx context.Context, s Store, accountID, tableID, contactID parley.ID) (Decision, error) {
	dec, err := s.Simulate(ctx, accountID, tableID, contactID)
	if parley.IsKind(err, parley.ENOTFOUND) {
		if _, terr := s.GetRoutingTable(ctx, accountID, tableID); terr == nil {
			return dec, parley.Invalid(map[string]string{"contact_id": "no such contact"})
		}
	}
	return dec, err
}

// Tables reads all of an account's routing tables.
func Tables(ctx context.Context, s Store, accountID parley.ID) ([]Table, error) {
	return parley.All(func(p parley.Page) ([]Table, string, error) { return s.ListRoutingTables(ctx, accountID, p) })
}

// ContactTypes reads all of an account's contact types.
func ContactTypes(ctx context.Context, s Store, accountID parley.ID) ([]ContactType, error) {
	return parley.All(func(p parley.Page) ([]ContactType, string, error) { return s.ListContactTypes(ctx, accountID, p) })
}
