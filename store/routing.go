package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/routing"
)

type routingTableRow struct {
	ID        int64 `db:"id"`
	AccountID int64 `db:"account_id"`
	Name      string
	IsDefault bool  `db:"is_default"`
	CreatedAt int64 `db:"created_at"`
	UpdatedAt int64 `db:"updated_at"`
}

type routingEntryRow struct {
	ID         int64  `db:"id"`
	TableID    int64  `db:"table_id"`
	Conditions string `db:"conditions"`
	UserIDs    string `db:"user_ids"`
	Strategy   string `db:"strategy"`
	Capacity   *int   `db:"capacity"`
	Cursor     int    `db:"rr_cursor"`
}

func (r routingEntryRow) entry() (routing.Entry, error) {
	e := routing.Entry{ID: parley.ID(r.ID), Strategy: routing.Strategy(r.Strategy), Capacity: r.Capacity, Cursor: r.Cursor}
	if err := json.Unmarshal([]byte(r.Conditions), &e.Conditions); err != nil {
		return e, fmt.Errorf("store: decode routing conditions: %w", err)
	}
	if err := json.Unmarshal([]byte(r.UserIDs), &e.UserIDs); err != nil {
		return e, fmt.Errorf("store: decode routing pool: %w", err)
	}
	return e, nil
}

// CreateRoutingTable stores a new table with its entries.
func (db *DB) CreateRoutingTable(ctx context.Context, t routing.Table) (routing.Table, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		const q = `INSERT INTO routing_tables (account_id, name, is_default, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), t.AccountID, t.Name, t.Default, ms(t.CreatedAt), ms(t.UpdatedAt)); err != nil {
			return err
		}
		t.ID = parley.ID(id)
		tx.recordAdmin(t.AccountID, events.RoutingUpdated, t.ID, t.UpdatedAt)
		return insertEntries(ctx, tx, &t)
	})
	if parley.IsKind(err, parley.ECONFLICT) {
		err = parley.Conflict("default_table_exists", "the account already has a default routing table")
	}
	return t, err
}

func insertEntries(ctx context.Context, tx *Tx, t *routing.Table) error {
	const q = `INSERT INTO routing_entries (account_id, table_id, position, conditions, user_ids, strategy, capacity)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	for i := range t.Entries {
		e := &t.Entries[i]
		cond, err := json.Marshal(e.Conditions)
		if err != nil {
			return err
		}
		pool, err := json.Marshal(e.UserIDs)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), t.AccountID, t.ID, i, string(cond), string(pool), string(e.Strategy), e.Capacity); err != nil {
			return err
		}
		e.ID, e.Cursor = parley.ID(id), 0
	}
	return nil
}

// GetRoutingTable returns a table of the account with its entries.
func (db *DB) GetRoutingTable(ctx context.Context, accountID, id parley.ID) (routing.Table, error) {
	return getRoutingTable(ctx, db.db, accountID, id, "")
}

func getRoutingTable(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID, lock string) (routing.Table, error) {
	var row routingTableRow
	err := sqlx.GetContext(ctx, q, &row, rebind(q, `SELECT id, account_id, name, is_default, created_at, updated_at
FROM routing_tables WHERE account_id = ? AND id = ?`), accountID, id)
	if err != nil {
		return routing.Table{}, translate(err)
	}
	var entries []routingEntryRow
	if err := sqlx.SelectContext(ctx, q, &entries, rebind(q, `SELECT id, table_id, conditions, user_ids, strategy, capacity, rr_cursor
FROM routing_entries WHERE table_id = ? ORDER BY position`+lock), id); err != nil {
		return routing.Table{}, translate(err)
	}
	t := routing.Table{ID: parley.ID(row.ID), AccountID: parley.ID(row.AccountID), Name: row.Name, Default: row.IsDefault,
		CreatedAt: fromMS(row.CreatedAt), UpdatedAt: fromMS(row.UpdatedAt)}
	for _, r := range entries {
		e, err := r.entry()
		if err != nil {
			return t, err
		}
		t.Entries = append(t.Entries, e)
	}
	return t, nil
}

// ListRoutingTables lists a page of the account's tables by id.
func (db *DB) ListRoutingTables(ctx context.Context, accountID parley.ID, page parley.Page) ([]routing.Table, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var ids []int64
	q := `SELECT id FROM routing_tables WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &ids, db.rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	ids, next := idCursor(ids, page, func(id int64) int64 { return id })
	out := make([]routing.Table, 0, len(ids))
	for _, id := range ids {
		t, err := db.GetRoutingTable(ctx, accountID, parley.ID(id))
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	return out, next, nil
}

// ReplaceRoutingTable replaces a table's name, default flag and entries.
func (db *DB) ReplaceRoutingTable(ctx context.Context, t routing.Table) (routing.Table, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		var created int64
		const q = `UPDATE routing_tables SET name = ?, is_default = ?, updated_at = ? WHERE account_id = ? AND id = ? RETURNING created_at`
		if err := tx.GetContext(ctx, &created, tx.Rebind(q), t.Name, t.Default, ms(t.UpdatedAt), t.AccountID, t.ID); err != nil {
			return err
		}
		t.CreatedAt = fromMS(created)
		tx.recordAdmin(t.AccountID, events.RoutingUpdated, t.ID, t.UpdatedAt)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM routing_entries WHERE table_id = ?`), t.ID); err != nil {
			return err
		}
		return insertEntries(ctx, tx, &t)
	})
	if parley.IsKind(err, parley.ECONFLICT) {
		err = parley.Conflict("default_table_exists", "the account already has a default routing table")
	}
	return t, err
}

// DeleteRoutingTable deletes a table no contact type uses.
func (db *DB) DeleteRoutingTable(ctx context.Context, accountID, id parley.ID) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var users int
		if err := tx.GetContext(ctx, &users, tx.Rebind(`SELECT COUNT(*) FROM contact_types WHERE account_id = ? AND routing_table_id = ?`), accountID, id); err != nil {
			return err
		}
		if users > 0 {
			return parley.Conflict("table_in_use", "%d contact type(s) route with this table; point them elsewhere first", users)
		}
		var gone int64
		return tx.GetContext(ctx, &gone, tx.Rebind(`DELETE FROM routing_tables WHERE account_id = ? AND id = ? RETURNING id`), accountID, id)
	})
}

type contactTypeRow struct {
	ID             int64  `db:"id"`
	AccountID      int64  `db:"account_id"`
	Name           string `db:"name"`
	Relationship   string `db:"relationship"`
	RoutingTableID *int64 `db:"routing_table_id"`
	CreatedAt      int64  `db:"created_at"`
	UpdatedAt      int64  `db:"updated_at"`
}

const contactTypeColumns = `id, account_id, name, relationship, routing_table_id, created_at, updated_at`

func (r contactTypeRow) contactType() routing.ContactType {
	return routing.ContactType{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Name: r.Name, Relationship: r.Relationship,
		RoutingTableID: idPtr(r.RoutingTableID), CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
}

// checkTable reports EINVALID unless the table belongs to the account.
func checkTable(ctx context.Context, tx *Tx, accountID parley.ID, id *parley.ID) error {
	if id == nil {
		return nil
	}
	var one int
	err := tx.GetContext(ctx, &one, tx.Rebind(`SELECT 1 FROM routing_tables WHERE account_id = ? AND id = ?`), accountID, *id)
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		return parley.Invalid(map[string]string{"routing_table_id": "no such routing table"})
	}
	return err
}

// CreateContactType stores a contact type.
func (db *DB) CreateContactType(ctx context.Context, c routing.ContactType) (routing.ContactType, error) {
	var row contactTypeRow
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := checkTable(ctx, tx, c.AccountID, c.RoutingTableID); err != nil {
			return err
		}
		q := `INSERT INTO contact_types (account_id, name, relationship, routing_table_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING ` + contactTypeColumns
		return tx.GetContext(ctx, &row, tx.Rebind(q), c.AccountID, c.Name, c.Relationship, c.RoutingTableID, ms(c.CreatedAt), ms(c.UpdatedAt))
	})
	if parley.IsKind(err, parley.ECONFLICT) {
		err = parley.Conflict("contact_type_exists", "a contact type named %q exists", c.Name)
	}
	return row.contactType(), err
}

// ListContactTypes lists a page of the account's contact types by id.
func (db *DB) ListContactTypes(ctx context.Context, accountID parley.ID, page parley.Page) ([]routing.ContactType, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []contactTypeRow
	q := `SELECT ` + contactTypeColumns + ` FROM contact_types WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r contactTypeRow) int64 { return r.ID })
	out := make([]routing.ContactType, len(rows))
	for i, r := range rows {
		out[i] = r.contactType()
	}
	return out, next, nil
}

// GetContactType reads one of the account's contact types.
func (db *DB) GetContactType(ctx context.Context, accountID, id parley.ID) (routing.ContactType, error) {
	var row contactTypeRow
	q := `SELECT ` + contactTypeColumns + ` FROM contact_types WHERE account_id = ? AND id = ?`
	if err := db.db.GetContext(ctx, &row, db.rebind(q), accountID, id); err != nil {
		return routing.ContactType{}, translate(err)
	}
	return row.contactType(), nil
}

// UpdateContactType replaces a contact type's fields (PUT).
func (db *DB) UpdateContactType(ctx context.Context, c routing.ContactType) (routing.ContactType, error) {
	var row contactTypeRow
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := checkTable(ctx, tx, c.AccountID, c.RoutingTableID); err != nil {
			return err
		}
		q := `UPDATE contact_types SET name = ?, relationship = ?, routing_table_id = ?, updated_at = ?
WHERE account_id = ? AND id = ? RETURNING ` + contactTypeColumns
		return tx.GetContext(ctx, &row, tx.Rebind(q), c.Name, c.Relationship, c.RoutingTableID, ms(c.UpdatedAt), c.AccountID, c.ID)
	})
	if parley.IsKind(err, parley.ECONFLICT) {
		err = parley.Conflict("contact_type_exists", "a contact type named %q exists", c.Name)
	}
	return row.contactType(), err
}

// lockAssignments serialises the account's assignment decisions, so that
// round-robin cursors and capacity counts are read and moved by one
// decision at a time, across every instance. SQLite has one writer.
func (d dialect) lockAssignments(ctx context.Context, tx *Tx, accountID parley.ID) error {
	return d.lockKey(ctx, tx, fmt.Sprintf("assign:%d", accountID))
}

// AutoAssign decides and applies an assignment in one transaction.
func (db *DB) AutoAssign(ctx context.Context, accountID, conversationID parley.ID, at time.Time) (routing.Decision, error) {
	var d routing.Decision
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := db.dialect.lockAssignments(ctx, tx, accountID); err != nil {
			return err
		}
		var on bool
		if err := tx.GetContext(ctx, &on, tx.Rebind(`SELECT auto_assign FROM accounts WHERE id = ?`), accountID); err != nil {
			return err
		}
		if !on {
			d = routing.Decision{EntryIndex: -1, Reason: "auto-assignment is off for the account"}
			return nil
		}
		conv, err := db.lockForAction(ctx, tx, accountID, conversationID)
		if err != nil {
			return err
		}
		if conv.AssigneeID != nil || (conv.Status != conversations.StatusNew && conv.Status != conversations.StatusOpen) {
			d = routing.Decision{EntryIndex: -1, Reason: "the conversation is not waiting for an assignee"}
			return nil
		}
		d, err = decide(ctx, tx, conv, 0)
		if err != nil || d.UserID == nil {
			return err
		}
		return applyDecision(ctx, tx, conv, d, at)
	})
	return d, err
}

// decide routes conv with the table its contact's type names (or the
// account's default table), or with tableID when it is not 0.
func decide(ctx context.Context, tx sqlx.QueryerContext, conv conversations.Conversation, tableID parley.ID) (routing.Decision, error) {
	s, ctype, err := routingSubject(ctx, tx, conv)
	if err != nil {
		return routing.Decision{}, err
	}
	if tableID == 0 {
		if tableID, err = tableFor(ctx, tx, conv.AccountID, ctype); err != nil || tableID == 0 {
			return routing.Decision{EntryIndex: -1, Relationship: s.Relationship, Reason: "no routing table for this contact's type, and no default table"}, err
		}
	}
	lock := ""
	if txx, ok := tx.(*Tx); ok {
		lock = dialectOf(txx).forUpdateKeys() // the round-robin cursors move in this transaction
	}
	t, err := getRoutingTable(ctx, tx, conv.AccountID, tableID, lock)
	if err != nil {
		return routing.Decision{}, err
	}
	agents, err := loadAgents(ctx, tx, conv.AccountID, t)
	if err != nil {
		return routing.Decision{}, err
	}
	return routing.Decide(t, s, agents), nil
}

// routingSubject reads what the decision looks at: the contact's type and
// attributes, the conversation's inbox and channel, and the contact's user
// for the type's relationship.
func routingSubject(ctx context.Context, q sqlx.QueryerContext, conv conversations.Conversation) (routing.Subject, *routing.ContactType, error) {
	s := routing.Subject{InboxID: conv.InboxID, ChannelID: conv.ChannelID}
	var c struct {
		Type       string `db:"type"`
		Attributes string `db:"attributes"`
	}
	if err := sqlx.GetContext(ctx, q, &c, rebind(q, `SELECT type, attributes FROM contacts WHERE id = ?`), conv.ContactID); err != nil {
		return s, nil, translate(err)
	}
	s.ContactType = c.Type
	if err := json.Unmarshal([]byte(c.Attributes), &s.Attributes); err != nil {
		return s, nil, err
	}
	if c.Type == "" {
		return s, nil, nil
	}
	var row contactTypeRow
	err := sqlx.GetContext(ctx, q, &row, rebind(q, `SELECT `+contactTypeColumns+` FROM contact_types WHERE account_id = ? AND name = ?`), conv.AccountID, c.Type)
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		return s, nil, nil
	} else if err != nil {
		return s, nil, err
	}
	ct := row.contactType()
	s.Relationship = ct.Relationship
	var user int64
	err = sqlx.GetContext(ctx, q, &user, rebind(q, `SELECT user_id FROM contact_relationships WHERE contact_id = ? AND relationship = ?`), conv.ContactID, ct.Relationship)
	if err == nil {
		s.Sticky = idPtr(&user)
	} else if !parley.IsKind(translate(err), parley.ENOTFOUND) {
		return s, nil, err
	}
	return s, &ct, nil
}

// tableFor is the table of a contact type, else the account's default.
func tableFor(ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, ct *routing.ContactType) (parley.ID, error) {
	if ct != nil && ct.RoutingTableID != nil {
		return *ct.RoutingTableID, nil
	}
	var id int64
	err := sqlx.GetContext(ctx, q, &id, rebind(q, `SELECT id FROM routing_tables WHERE account_id = ? AND is_default`), accountID)
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		return 0, nil
	}
	return parley.ID(id), err
}

// loadAgents reads availability and load (new+open conversations) of
// every user in the table's pools.
func loadAgents(ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, t routing.Table) (map[parley.ID]routing.Agent, error) {
	var ids []parley.ID
	seen := map[parley.ID]bool{}
	for _, e := range t.Entries {
		for _, id := range e.UserIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	agents := map[parley.ID]routing.Agent{}
	if len(ids) == 0 {
		return agents, nil
	}
	query, args, err := sqlx.In(`SELECT id, active, available FROM users WHERE account_id = ? AND id IN (?)`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var users []struct {
		ID        int64 `db:"id"`
		Active    bool  `db:"active"`
		Available bool  `db:"available"`
	}
	if err := sqlx.SelectContext(ctx, q, &users, rebind(q, query), args...); err != nil {
		return nil, translate(err)
	}
	for _, u := range users {
		agents[parley.ID(u.ID)] = routing.Agent{Active: u.Active, Available: u.Available}
	}
	query, args, err = sqlx.In(`SELECT assignee_id, COUNT(*) AS load FROM conversations
WHERE account_id = ? AND assignee_id IN (?) AND status IN ('new', 'open') GROUP BY assignee_id`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var loads []struct {
		ID   int64 `db:"assignee_id"`
		Load int   `db:"load"`
	}
	if err := sqlx.SelectContext(ctx, q, &loads, rebind(q, query), args...); err != nil {
		return nil, translate(err)
	}
	for _, l := range loads {
		a := agents[parley.ID(l.ID)]
		a.Load = l.Load
		agents[parley.ID(l.ID)] = a
	}
	return agents, nil
}

// applyDecision assigns, moves the round-robin cursor and records the
// relationship, all in the deciding transaction.
func applyDecision(ctx context.Context, tx *Tx, conv conversations.Conversation, d routing.Decision, at time.Time) error {
	detail := map[string]any{"table_id": d.TableID, "table": d.TableName, "entry": d.EntryIndex, "strategy": d.Strategy, "sticky": d.Sticky}
	if err := setAssigneeWith(ctx, tx, conv, d.UserID, nil, "auto_assigned", detail, at); err != nil {
		return err
	}
	if d.Strategy == routing.RoundRobin && !d.Sticky {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE routing_entries SET rr_cursor = ? WHERE id = ?`), d.NextCursor, d.EntryID); err != nil {
			return err
		}
	}
	if d.Relationship == "" {
		return nil
	}
	const q = `INSERT INTO contact_relationships (account_id, contact_id, relationship, user_id, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (contact_id, relationship) DO UPDATE SET user_id = excluded.user_id, updated_at = excluded.updated_at`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), conv.AccountID, conv.ContactID, d.Relationship, *d.UserID, ms(at))
	return err
}

// Simulate decides with a table for a contact's most recent conversation,
// without assigning. A contact with no conversation is routed as if it
// texted now, matching inbox and channel conditions to nothing.
func (db *DB) Simulate(ctx context.Context, accountID, tableID, contactID parley.ID) (routing.Decision, error) {
	if _, err := db.GetRoutingTable(ctx, accountID, tableID); err != nil {
		return routing.Decision{}, err
	}
	var row conversationRow
	err := db.db.GetContext(ctx, &row, db.rebind(selectConversation+` WHERE cv.account_id = ? AND cv.contact_id = ? ORDER BY cv.last_message_at DESC LIMIT 1`), accountID, contactID)
	conv := row.conversation()
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		if _, err := db.GetContact(ctx, accountID, contactID); err != nil {
			return routing.Decision{}, err
		}
		conv = conversations.Conversation{AccountID: accountID, ContactID: contactID}
	} else if err != nil {
		return routing.Decision{}, translate(err)
	}
	return decide(ctx, db.db, conv, tableID)
}

// WaitingConversations lists unassigned new/open conversations of accounts
// that auto-assign, longest-waiting first (waiting_since, migration 00008).
func (db *DB) WaitingConversations(ctx context.Context, accountID parley.ID, after routing.Waiting, limit int) ([]routing.Waiting, error) {
	q := `SELECT cv.account_id, cv.id, cv.waiting_since FROM conversations cv JOIN accounts a ON a.id = cv.account_id
WHERE cv.assignee_id IS NULL AND cv.status IN ('new', 'open') AND a.auto_assign`
	args := []any{}
	if accountID != 0 {
		q, args = q+` AND cv.account_id = ?`, append(args, accountID)
	}
	if after.ID != 0 {
		at := ms(after.Since)
		q, args = q+` AND (cv.waiting_since > ? OR (cv.waiting_since = ? AND cv.id > ?))`, append(args, at, at, after.ID)
	}
	var rows []struct {
		AccountID int64 `db:"account_id"`
		ID        int64 `db:"id"`
		Since     int64 `db:"waiting_since"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q+` ORDER BY cv.waiting_since, cv.id LIMIT ?`), append(args, limit)...); err != nil {
		return nil, translate(err)
	}
	out := make([]routing.Waiting, len(rows))
	for i, r := range rows {
		out[i] = routing.Waiting{AccountID: parley.ID(r.AccountID), ID: parley.ID(r.ID), Since: fromMS(r.Since)}
	}
	return out, nil
}
