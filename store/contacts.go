package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

type contactRow struct {
	ID         int64  `db:"id"`
	AccountID  int64  `db:"account_id"`
	Name       string `db:"name"`
	Type       string `db:"type"`
	Attributes string `db:"attributes"`
	CreatedAt  int64  `db:"created_at"`
	UpdatedAt  int64  `db:"updated_at"`
}

const contactColumns = `id, account_id, name, type, attributes, created_at, updated_at`

func (r contactRow) contact(phones []string) (conversations.Contact, error) {
	c := conversations.Contact{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Name: r.Name, Type: r.Type,
		Phones: phones, CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
	if err := json.Unmarshal([]byte(r.Attributes), &c.Attributes); err != nil {
		return c, fmt.Errorf("store: decode contact attributes: %w", err)
	}
	if c.Phones == nil {
		c.Phones = []string{}
	}
	return c, nil
}

// CreateContact creates a contact with its phones.
func (db *DB) CreateContact(ctx context.Context, c conversations.Contact) (conversations.Contact, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		id, err := insertContact(ctx, tx, c)
		if err != nil {
			return err
		}
		c.ID = id
		c.Relationships = map[string]parley.ID{}
		for i, p := range c.Phones {
			if err := addContactPhone(ctx, tx, c.AccountID, id, p, i); err != nil {
				return err
			}
		}
		// A phone freed from another contact may have threads: they come
		// along, as they do when a patch gives the phone to a contact.
		return takeThreads(ctx, tx, c.AccountID, id, c.Phones, c.UpdatedAt)
	})
	return c, err
}

// takeThreads gives the account's conversations with these phones, and
// their sends, to the contact that now owns the phones: a number's threads
// belong to whoever owns the number.
func takeThreads(ctx context.Context, tx *Tx, accountID, contactID parley.ID, phones []string, at time.Time) error {
	if len(phones) == 0 {
		return nil
	}
	moved, err := selectIn[parley.ID](ctx, tx, `UPDATE conversations SET contact_id = ?, updated_at = ? WHERE account_id = ? AND contact_phone IN (?) AND contact_id <> ? RETURNING id`,
		contactID, ms(at), accountID, phones, contactID)
	if err != nil {
		return err
	}
	tx.recordContactShown(accountID, contactID, moved, at)
	return moveSends(ctx, tx, accountID, phones, contactID)
}

// showContactChanged tells the streams and webhooks that the threads of a
// contact now show it otherwise: its name or type changed.
func showContactChanged(ctx context.Context, tx *Tx, accountID, contactID parley.ID, at time.Time) error {
	threads, err := selectIn[parley.ID](ctx, tx, `SELECT id FROM conversations WHERE account_id = ? AND contact_id = ?`, accountID, contactID)
	if err != nil {
		return err
	}
	tx.recordContactShown(accountID, contactID, threads, at)
	return nil
}

// strayThread is a phone whose thread shows another contact than the
// phone's owner: the phone was freed from that contact, and a text gave it
// a contact of its own since.
type strayThread struct {
	account parley.ID
	phone   string
	owner   parley.ID
}

// giveThreadsToOwners has the owners of stray threads' phones take them,
// as a contact given a phone does (takeThreads), in phone order.
func giveThreadsToOwners(ctx context.Context, tx *Tx, strays []strayThread, at time.Time) error {
	slices.SortFunc(strays, func(a, b strayThread) int {
		return cmp.Or(cmp.Compare(a.account, b.account), strings.Compare(a.phone, b.phone))
	})
	for _, s := range strays {
		if err := takeThreads(ctx, tx, s.account, s.owner, []string{s.phone}, at); err != nil {
			return err
		}
	}
	return nil
}

func insertContact(ctx context.Context, tx *Tx, c conversations.Contact) (parley.ID, error) {
	const q = `INSERT INTO contacts (account_id, name, type, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return 0, parley.Invalid(map[string]string{"attributes": "must be a JSON object"})
	}
	if c.Attributes == nil {
		attrs = []byte("{}")
	}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(q), c.AccountID, c.Name, c.Type, string(attrs), ms(c.CreatedAt), ms(c.UpdatedAt))
	return parley.ID(id), err
}

func addContactPhone(ctx context.Context, tx *Tx, accountID, contactID parley.ID, phone string, position int) error {
	const q = `INSERT INTO contact_phones (account_id, phone, contact_id, position) VALUES (?, ?, ?, ?)`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), accountID, phone, contactID, position)
	if isUniqueViolation(err) {
		return &parley.Error{Kind: parley.ECONFLICT, Code: "phone_taken",
			Message: fmt.Sprintf("%s already belongs to another contact", phone), Fields: map[string]string{"phones": phone + " belongs to another contact"}}
	}
	return err
}

// GetContact returns a contact of the account with its phones.
func (db *DB) GetContact(ctx context.Context, accountID, contactID parley.ID) (conversations.Contact, error) {
	var row contactRow
	q := `SELECT ` + contactColumns + ` FROM contacts WHERE account_id = ? AND id = ?`
	if err := db.db.GetContext(ctx, &row, db.rebind(q), accountID, contactID); err != nil {
		return conversations.Contact{}, translate(err)
	}
	phones, err := db.contactPhones(ctx, db.db, []int64{row.ID})
	if err != nil {
		return conversations.Contact{}, err
	}
	c, err := row.contact(phones[row.ID])
	if err != nil {
		return c, err
	}
	rels, err := contactRelationships(ctx, db.db, []int64{row.ID})
	c.Relationships = rels[row.ID]
	return c, err
}

// contactRelationships loads the relationships of several contacts.
func contactRelationships(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]map[string]parley.ID, error) {
	out := make(map[int64]map[string]parley.ID, len(ids))
	for _, id := range ids {
		out[id] = map[string]parley.ID{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In(`SELECT contact_id, relationship, user_id FROM contact_relationships WHERE contact_id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ContactID    int64  `db:"contact_id"`
		Relationship string `db:"relationship"`
		UserID       int64  `db:"user_id"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, rebind(q, query), args...); err != nil {
		return nil, translate(err)
	}
	for _, r := range rows {
		out[r.ContactID][r.Relationship] = parley.ID(r.UserID)
	}
	return out, nil
}

// contactPhones loads the phones of several contacts in one query.
func (db *DB) contactPhones(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In(`SELECT contact_id, phone FROM contact_phones WHERE contact_id IN (?) ORDER BY contact_id, position`, ids)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryxContext(ctx, db.rebind(query), args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var phone string
		if err := rows.Scan(&id, &phone); err != nil {
			return nil, err
		}
		out[id] = append(out[id], phone)
	}
	return out, rows.Err()
}

// FindContacts lists contacts, newest first.
func (db *DB) FindContacts(ctx context.Context, f conversations.ContactFilter) ([]conversations.Contact, string, error) {
	page := f.Page.Normalize()
	where, args := []string{"c.account_id = ?"}, []any{f.AccountID}
	if f.Phone != "" {
		where = append(where, "c.id IN (SELECT contact_id FROM contact_phones WHERE account_id = ? AND phone = ?)")
		args = append(args, f.AccountID, f.Phone)
	}
	if q := searchText(f.Query); q != "" {
		// The name as the records' search matches it (containsFold), every
		// letter in any case: SQLite's LOWER and LIKE fold ASCII only.
		named, arg := db.dialect.containsFold("c.name", q)
		like := "%" + escapeLike(strings.ToLower(q)) + "%"
		where = append(where, `(`+named+` OR c.id IN (SELECT contact_id FROM contact_phones WHERE account_id = ? AND phone LIKE ? ESCAPE '\'))`)
		args = append(args, arg, f.AccountID, like)
	}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "c.id < ?")
		args = append(args, key[0])
	}
	q := `SELECT c.id, c.account_id, c.name, c.type, c.attributes, c.created_at, c.updated_at FROM contacts c WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY c.id DESC LIMIT ?`
	args = append(args, page.Limit+1)
	var rows []contactRow
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		next = encodeCursor(rows[len(rows)-1].ID)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	phones, err := db.contactPhones(ctx, db.db, ids)
	if err != nil {
		return nil, "", err
	}
	rels, err := contactRelationships(ctx, db.db, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]conversations.Contact, len(rows))
	for i, r := range rows {
		if out[i], err = r.contact(phones[r.ID]); err != nil {
			return nil, "", err
		}
		out[i].Relationships = rels[r.ID]
	}
	return out, next, nil
}

// escapeLike escapes LIKE's wildcards so user input matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateContact applies a patch to a contact. A new phone list replaces the
// old one; a phone of another contact is a conflict and nothing is written.
func (db *DB) UpdateContact(ctx context.Context, accountID, contactID parley.ID, p conversations.ContactPatch, at time.Time) (conversations.Contact, error) {
	var out conversations.Contact
	err := db.inTx(ctx, func(tx *Tx) error {
		var row contactRow
		q := `SELECT ` + contactColumns + ` FROM contacts WHERE account_id = ? AND id = ?` + db.dialect.forUpdate()
		if err := tx.GetContext(ctx, &row, tx.Rebind(q), accountID, contactID); err != nil {
			return err
		}
		phones, err := db.contactPhones(ctx, tx, []int64{row.ID})
		if err != nil {
			return err
		}
		c, err := row.contact(phones[row.ID])
		if err != nil {
			return err
		}
		rels, err := contactRelationships(ctx, tx, []int64{row.ID})
		if err != nil {
			return err
		}
		c.Relationships = rels[row.ID]
		if err := applyContactPatch(&c, p); err != nil {
			return err
		}
		attrs, err := json.Marshal(c.Attributes)
		if err != nil {
			return err
		}
		if c.Name != row.Name || c.Type != row.Type {
			if err := showContactChanged(ctx, tx, accountID, c.ID, at); err != nil {
				return err
			}
		}
		const up = `UPDATE contacts SET name = ?, type = ?, attributes = ?, updated_at = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, tx.Rebind(up), c.Name, c.Type, string(attrs), ms(at), c.ID); err != nil {
			return err
		}
		if p.Phones != nil {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM contact_phones WHERE contact_id = ?`), c.ID); err != nil {
				return err
			}
			for i, ph := range c.Phones {
				if err := addContactPhone(ctx, tx, accountID, c.ID, ph, i); err != nil {
					return err
				}
			}
			if err := takeThreads(ctx, tx, accountID, c.ID, c.Phones, at); err != nil {
				return err
			}
		}
		c.UpdatedAt = at
		out = c
		return nil
	})
	return out, err
}

func applyContactPatch(c *conversations.Contact, p conversations.ContactPatch) error {
	held := c.Phones
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.Type != nil {
		c.Type = *p.Type
	}
	if p.Attributes != nil {
		c.Attributes = *p.Attributes
	}
	if p.Phones != nil {
		c.Phones = *p.Phones
	}
	return c.ValidateKeeping(held)
}
