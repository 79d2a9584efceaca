package store

import (
	"context"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

// GetConsent returns a phone's consent; a phone never seen is not opted out.
func (db *DB) GetConsent(ctx context.Context, accountID parley.ID, phone string) (optout.Consent, error) {
	var row struct {
		OptedOut  bool   `db:"opted_out"`
		Keyword   string `db:"keyword"`
		MessageID *int64 `db:"message_id"`
		ChangedAt int64  `db:"changed_at"`
	}
	const q = `SELECT opted_out, keyword, message_id, changed_at FROM consents WHERE account_id = ? AND phone = ?`
	err := db.db.GetContext(ctx, &row, db.rebind(q), accountID, phone)
	if err = translate(err); parley.IsKind(err, parley.ENOTFOUND) {
		return optout.Consent{Phone: phone}, nil
	} else if err != nil {
		return optout.Consent{}, err
	}
	at := fromMS(row.ChangedAt)
	return optout.Consent{Phone: phone, OptedOut: row.OptedOut, Keyword: row.Keyword, MessageID: idPtr(row.MessageID), ChangedAt: &at}, nil
}

type consentEventRow struct {
	ID        int64  `db:"id"`
	Phone     string `db:"phone"`
	Action    string `db:"action"`
	Source    string `db:"source"`
	Keyword   string `db:"keyword"`
	MessageID *int64 `db:"message_id"`
	UserID    *int64 `db:"user_id"`
	Detail    string `db:"detail"`
	CreatedAt int64  `db:"created_at"`
}

// ListConsentEvents returns a page of a phone's consent audit log, oldest first.
func (db *DB) ListConsentEvents(ctx context.Context, accountID parley.ID, phone string, page parley.Page) ([]optout.Event, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []consentEventRow
	q := `SELECT id, phone, action, source, keyword, message_id, user_id, detail, created_at
FROM consent_events WHERE account_id = ? AND phone = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID, phone}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r consentEventRow) int64 { return r.ID })
	out := make([]optout.Event, len(rows))
	for i, r := range rows {
		out[i] = optout.Event{ID: parley.ID(r.ID), Phone: r.Phone, Action: optout.Action(r.Action), Source: optout.Source(r.Source),
			Keyword: r.Keyword, MessageID: idPtr(r.MessageID), UserID: idPtr(r.UserID), Detail: r.Detail, CreatedAt: fromMS(r.CreatedAt)}
	}
	return out, next, nil
}

// RecordConsent applies a consent change and logs it.
func (db *DB) RecordConsent(ctx context.Context, c optout.Change) (bool, error) {
	var changed bool
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		changed, err = recordConsent(ctx, tx, c)
		return err
	})
	return changed, err
}

// recordConsent changes the register and appends to the audit log. Each
// statement only writes when the state really changes, and RETURNING tells
// whether it did: atomic even when two STOPs race. An opt-in for a phone
// that never opted out changes nothing (a "YES" answering a question must
// not earn a "you have been resubscribed" text).
func recordConsent(ctx context.Context, tx *Tx, c optout.Change) (bool, error) {
	const optOut = `INSERT INTO consents (account_id, phone, opted_out, keyword, message_id, changed_at) VALUES (?, ?, TRUE, ?, ?, ?)
ON CONFLICT (account_id, phone) DO UPDATE SET opted_out = TRUE, keyword = excluded.keyword,
    message_id = excluded.message_id, changed_at = excluded.changed_at
WHERE consents.opted_out = FALSE
RETURNING account_id`
	const optIn = `UPDATE consents SET opted_out = FALSE, keyword = ?, message_id = ?, changed_at = ?
WHERE account_id = ? AND phone = ? AND opted_out = TRUE
RETURNING account_id`
	var got []int64
	var err error
	if c.Action == optout.ActionOptOut {
		err = tx.SelectContext(ctx, &got, tx.Rebind(optOut), c.AccountID, c.Phone, c.Keyword, c.MessageID, ms(c.At))
	} else {
		err = tx.SelectContext(ctx, &got, tx.Rebind(optIn), c.Keyword, c.MessageID, ms(c.At), c.AccountID, c.Phone)
	}
	if err != nil {
		return false, err
	}
	var writes []statement
	if c.Action == optout.ActionOptOut {
		writes = append(writes, revocationFlagsCleared(c.AccountID, c.Phone, c.At))
	}
	writes = append(writes, statement{query: `INSERT INTO consent_events (account_id, phone, action, source, keyword, message_id, user_id, detail, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args: []any{c.AccountID, c.Phone, string(c.Action), string(c.Source), c.Keyword, c.MessageID, c.UserID, c.Detail, ms(c.At)}})
	if len(got) == 0 {
		return false, execTogether(ctx, tx, writes...)
	}
	// The audit row, the flags cleared and the phone's threads (whose ids
	// are all the change's events need) in one round trip.
	var convs []int64
	phoneThreads := statement{query: `SELECT id FROM conversations WHERE account_id = ? AND contact_phone = ?`, args: []any{c.AccountID, c.Phone}}
	if err := selectTogether(ctx, tx, &convs, phoneThreads, writes...); err != nil {
		return false, err
	}
	recordConsentChange(tx, c, convs)
	return true, nil
}

// recordConsentChange logs conversation.updated for every conversation
// with the phone (convs): each shows whether its contact opted out.
func recordConsentChange(tx *Tx, c optout.Change, convs []int64) {
	typ := conversations.EventOptedOut
	if c.Action != optout.ActionOptOut {
		typ = conversations.EventOptedIn
	}
	entries := make([]event, len(convs))
	for i, id := range convs {
		entries[i] = event{conversationID: parley.ID(id), typ: typ, actor: conversations.ActorSystem,
			data: map[string]any{"source": string(c.Source)}, at: c.At}
	}
	tx.recordConversationEvents(c.AccountID, entries)
}
