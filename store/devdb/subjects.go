package devdb

import (
	"context"

	"github.com/parleyhq/parley"
)

// The reads `parley dev listbench` picks what to measure with: the
// busiest account, inbox and agent, the quietest agent, an empty inbox.

// BusiestAccount is the account with the most conversations.
func (d *DB) BusiestAccount(ctx context.Context) (parley.ID, error) {
	var id parley.ID
	err := d.db.GetContext(ctx, &id, `SELECT account_id FROM conversations GROUP BY account_id ORDER BY COUNT(*) DESC LIMIT 1`)
	return id, err
}

// BusiestAssignee is the user with the most of the account's
// conversations assigned.
func (d *DB) BusiestAssignee(ctx context.Context, account parley.ID) (parley.ID, error) {
	var id parley.ID
	err := d.db.GetContext(ctx, &id, d.db.Rebind(`SELECT assignee_id FROM conversations
WHERE account_id = ? AND assignee_id IS NOT NULL GROUP BY assignee_id ORDER BY COUNT(*) DESC LIMIT 1`), account)
	return id, err
}

// Size counts the account's conversations and messages.
func (d *DB) Size(ctx context.Context, account parley.ID) (conversations, messages int, err error) {
	if err := d.db.GetContext(ctx, &conversations, d.db.Rebind(`SELECT COUNT(*) FROM conversations WHERE account_id = ?`), account); err != nil {
		return 0, 0, err
	}
	err = d.db.GetContext(ctx, &messages, d.db.Rebind(`SELECT COUNT(*) FROM messages WHERE account_id = ?`), account)
	return conversations, messages, err
}

// ListSubjects are what the measured lists' filters name.
type ListSubjects struct {
	// Inbox is the account's busiest; EmptyInbox one without
	// conversations (a new one), or an id no inbox has when the account
	// has none such.
	Inbox, EmptyInbox parley.ID
	// QuietAgent is the least busy assignee, for assignee_id in view=all.
	QuietAgent parley.ID
	// Contact and Phone are the most recent conversation's.
	Contact parley.ID
	Phone   string
}

// ListSubjects reads the account's subjects of measured lists.
func (d *DB) ListSubjects(ctx context.Context, account parley.ID) (ListSubjects, error) {
	var s ListSubjects
	if err := d.db.GetContext(ctx, &s.Inbox, d.db.Rebind(`SELECT inbox_id FROM conversations WHERE account_id = ?
GROUP BY inbox_id ORDER BY COUNT(*) DESC LIMIT 1`), account); err != nil {
		return s, err
	}
	if err := d.db.GetContext(ctx, &s.EmptyInbox, d.db.Rebind(`SELECT COALESCE(MIN(id), (SELECT MAX(id) + 1 FROM inboxes)) FROM inboxes i
WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM conversations cv WHERE cv.inbox_id = i.id)`), account); err != nil {
		return s, err
	}
	if err := d.db.GetContext(ctx, &s.QuietAgent, d.db.Rebind(`SELECT assignee_id FROM conversations
WHERE account_id = ? AND assignee_id IS NOT NULL GROUP BY assignee_id ORDER BY COUNT(*), assignee_id LIMIT 1`), account); err != nil {
		return s, err
	}
	err := d.db.QueryRowxContext(ctx, d.db.Rebind(`SELECT contact_id, contact_phone FROM conversations WHERE account_id = ?
ORDER BY last_message_at DESC, id DESC LIMIT 1`), account).Scan(&s.Contact, &s.Phone)
	return s, err
}
