package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
)

var _ outcomes.Store = (*DB)(nil)

// notFoundField is ENOTFOUND naming the field whose id is not the
// account's (a body's id, unlike the path's).
func notFoundField(field, msg string) error {
	return &parley.Error{Kind: parley.ENOTFOUND, Code: parley.ENOTFOUND, Message: msg, Fields: map[string]string{field: msg}}
}

// actorOf is who made a change: the user, or the system for an
// integration writing without one.
func actorOf(by *parley.ID) conversations.ActorType {
	if by == nil {
		return conversations.ActorSystem
	}
	return conversations.ActorUser
}

// Records.

type recordRow struct {
	ID          int64   `db:"id"`
	AccountID   int64   `db:"account_id"`
	Type        string  `db:"type"`
	ExternalID  string  `db:"external_id"`
	Title       string  `db:"title"`
	Status      string  `db:"status"`
	AmountUnits *int64  `db:"amount_units"`
	Currency    *string `db:"currency"`
	URL         string  `db:"url"`
	ContactID   *int64  `db:"contact_id"`
	OccurredAt  *int64  `db:"occurred_at"`
	CreatedAt   int64   `db:"created_at"`
	UpdatedAt   int64   `db:"updated_at"`
}

const recordColumns = `id, account_id, type, external_id, title, status, amount_units, currency, url, contact_id, occurred_at, created_at, updated_at`

func (r recordRow) record() outcomes.Record {
	return outcomes.Record{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Type: outcomes.RecordType(r.Type),
		ExternalID: r.ExternalID, Title: r.Title, Status: r.Status, Amount: moneyOf(r.AmountUnits, r.Currency), URL: r.URL,
		ContactID: idPtr(r.ContactID), OccurredAt: fromMSPtr(r.OccurredAt), CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
}

// moneyOf loads an optional amount; moneyCols stores one.
func moneyOf(units *int64, cur *string) *outcomes.Money {
	if units == nil || cur == nil {
		return nil
	}
	return &outcomes.Money{Units: *units, Currency: *cur}
}

func moneyCols(m *outcomes.Money) (units, cur any) {
	if m == nil {
		return nil, nil
	}
	return m.Units, m.Currency
}

// getRecord reads a record of the account; q may be the transaction.
func getRecord(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (outcomes.Record, error) {
	var row recordRow
	err := sqlx.GetContext(ctx, q, &row, rebind(q, `SELECT `+recordColumns+` FROM records WHERE account_id = ? AND id = ?`), accountID, id)
	return row.record(), translate(err)
}

// recordField reads a record a request names in a field: ENOTFOUND
// naming it when the record is not the account's.
func recordField(ctx context.Context, tx *Tx, accountID, id parley.ID) (outcomes.Record, error) {
	r, err := getRecord(ctx, tx, accountID, id)
	if parley.IsKind(err, parley.ENOTFOUND) {
		return r, notFoundField("record_id", "no such record")
	}
	return r, err
}

// recordsByID reads the account's records of ids.
func recordsByID(ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, ids []int64) (map[int64]outcomes.Record, error) {
	out := map[int64]outcomes.Record{}
	if len(ids) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In(`SELECT `+recordColumns+` FROM records WHERE account_id = ? AND id IN (?)`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var rows []recordRow
	if err := sqlx.SelectContext(ctx, q, &rows, rebind(q, query), args...); err != nil {
		return nil, translate(err)
	}
	for _, r := range rows {
		out[r.ID] = r.record()
	}
	return out, nil
}

// GetRecord reads a record of the account.
func (db *DB) GetRecord(ctx context.Context, accountID, id parley.ID) (outcomes.Record, error) {
	return getRecord(ctx, db.db, accountID, id)
}

// ListRecords pages the account's records by id, newest first. A page's
// Cursor is the id of the last record of the page before (Record.ID's
// text), so that callers page without the store.
func (db *DB) ListRecords(ctx context.Context, f outcomes.RecordFilter) ([]outcomes.Record, error) {
	page := f.Page.Normalize()
	conds, args := []string{"account_id = ?"}, []any{f.AccountID}
	types := f.Types
	if f.Type != "" {
		types = append(types, f.Type)
	}
	if len(types) > 0 {
		conds = append(conds, "type IN ("+placeholders(len(types))+")")
		for _, t := range types {
			args = append(args, string(t))
		}
	}
	if f.ContactID != 0 {
		conds, args = append(conds, "contact_id = ?"), append(args, f.ContactID)
	}
	if q := searchText(f.Query); q != "" {
		title, arg := db.dialect.containsFold("title", q)
		extID, _ := db.dialect.containsFold("external_id", q)
		conds, args = append(conds, "("+title+" OR "+extID+")"), append(args, arg, arg)
	}
	if page.Cursor != "" {
		after, err := parley.ParseID(page.Cursor)
		if err != nil {
			return nil, parley.Invalid(map[string]string{"cursor": "is not a cursor this list returned"})
		}
		conds, args = append(conds, "id < ?"), append(args, after)
	}
	var rows []recordRow
	q := `SELECT ` + recordColumns + ` FROM records WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY id DESC LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(args, page.Limit)...); err != nil {
		return nil, translate(err)
	}
	out := make([]outcomes.Record, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, nil
}

// searchText is a search's text as the databases can take it: without
// invalid UTF-8 or NUL, which PostgreSQL refuses.
func searchText(q string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(strings.TrimSpace(q), ""), "\x00", "")
}

// PutRecord upserts a record by (type, external_id), raises what its
// status change means on the conversations it is linked to, and links it
// to linkTo.
func (db *DB) PutRecord(ctx context.Context, r outcomes.Record, linkTo *parley.ID, by *parley.ID, at time.Time) (outcomes.Record, bool, error) {
	var out outcomes.Record
	var created bool
	err := db.inTx(ctx, func(tx *Tx) error {
		if r.ContactID != nil {
			var one int
			err := tx.GetContext(ctx, &one, tx.Rebind(`SELECT 1 FROM contacts WHERE account_id = ? AND id = ?`), r.AccountID, *r.ContactID)
			if parley.IsKind(translate(err), parley.ENOTFOUND) {
				return notFoundField("contact_id", "no such contact")
			} else if err != nil {
				return err
			}
		}
		if linkTo != nil {
			if _, err := getConversation(ctx, tx, r.AccountID, *linkTo); parley.IsKind(err, parley.ENOTFOUND) {
				return notFoundField("conversation_id", "no such conversation")
			} else if err != nil {
				return err
			}
		}
		before, after, err := db.upsertRecord(ctx, tx, r, at)
		if err != nil {
			return err
		}
		out, created = after, before == nil
		return db.raiseAndLink(ctx, tx, before, after, linkTo, by, at)
	})
	return out, created, err
}

// upsertRecord writes the record and returns it before (nil when new)
// and after. A concurrent first write of the same record makes this one
// its update.
func (db *DB) upsertRecord(ctx context.Context, tx *Tx, r outcomes.Record, at time.Time) (*outcomes.Record, outcomes.Record, error) {
	units, cur := moneyCols(r.Amount)
	for {
		var old []recordRow
		q := `SELECT ` + recordColumns + ` FROM records WHERE account_id = ? AND type = ? AND external_id = ?` + db.dialect.forUpdate()
		if err := tx.SelectContext(ctx, &old, tx.Rebind(q), r.AccountID, string(r.Type), r.ExternalID); err != nil {
			return nil, outcomes.Record{}, err
		}
		var row recordRow
		if len(old) == 1 {
			before := old[0].record()
			const upd = `UPDATE records SET title = ?, status = ?, amount_units = ?, currency = ?, url = ?, contact_id = ?,
    occurred_at = ?, updated_at = ? WHERE account_id = ? AND id = ? RETURNING ` + recordColumns
			err := tx.GetContext(ctx, &row, tx.Rebind(upd), r.Title, r.Status, units, cur, r.URL, r.ContactID, msPtr(r.OccurredAt),
				ms(at), r.AccountID, before.ID)
			return &before, row.record(), err
		}
		var rows []recordRow
		const ins = `INSERT INTO records (account_id, type, external_id, title, status, amount_units, currency, url, contact_id,
    occurred_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, type, external_id) DO NOTHING RETURNING ` + recordColumns
		err := tx.SelectContext(ctx, &rows, tx.Rebind(ins), r.AccountID, string(r.Type), r.ExternalID, r.Title, r.Status, units, cur,
			r.URL, r.ContactID, msPtr(r.OccurredAt), ms(at), ms(at))
		if err != nil {
			return nil, outcomes.Record{}, err
		}
		if len(rows) == 1 {
			return nil, rows[0].record(), nil
		}
		// Another transaction created it meanwhile; it has committed, so
		// the next read finds it.
	}
}

// raiseAndLink raises what a record's status change means on every
// conversation it is linked to, then links it to linkTo. The
// conversations are locked together in id order, so that two writes
// locking the same ones cannot wait for each other.
func (db *DB) raiseAndLink(ctx context.Context, tx *Tx, before *outcomes.Record, after outcomes.Record, linkTo, by *parley.ID, at time.Time) error {
	var proposals []outcomes.Proposal
	if before != nil {
		proposals = outcomes.ProposalsForRecord(before, after)
	}
	var linked []int64
	if len(proposals) > 0 {
		q := `SELECT conversation_id FROM conversation_links WHERE account_id = ? AND record_id = ?`
		if err := tx.SelectContext(ctx, &linked, tx.Rebind(q), after.AccountID, after.ID); err != nil {
			return err
		}
	}
	ids := slices.Clone(linked)
	if linkTo != nil {
		ids = append(ids, int64(*linkTo))
	}
	slices.Sort(ids)
	locked := map[int64]conversations.Conversation{}
	for _, id := range slices.Compact(ids) {
		conv, err := db.lockForAction(ctx, tx, after.AccountID, parley.ID(id))
		if err != nil {
			return err
		}
		locked[id] = conv
	}
	slices.Sort(linked)
	for _, id := range linked {
		if err := raiseSuggestions(ctx, tx, locked[id], proposals, nil, at); err != nil {
			return err
		}
	}
	if linkTo == nil {
		return nil
	}
	_, _, err := db.linkRecord(ctx, tx, locked[int64(*linkTo)], after, by, at)
	return err
}

// Links.

type linkRow struct {
	ConversationID int64  `db:"conversation_id"`
	RecordID       int64  `db:"record_id"`
	CreatedBy      *int64 `db:"created_by"`
	CreatedAt      int64  `db:"created_at"`
}

// LinkRecord links a record to a conversation; linking it again is a
// no-op.
func (db *DB) LinkRecord(ctx context.Context, accountID, conversationID, recordID parley.ID, by *parley.ID, at time.Time) (outcomes.Link, bool, error) {
	var out outcomes.Link
	var created bool
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockForAction(ctx, tx, accountID, conversationID)
		if err != nil {
			return err
		}
		rec, err := recordField(ctx, tx, accountID, recordID)
		if err != nil {
			return err
		}
		out, created, err = db.linkRecord(ctx, tx, conv, rec, by, at)
		return err
	})
	return out, created, err
}

// linkRecord links rec to the locked conversation, keeps its links_count,
// logs the link and raises what it means.
func (db *DB) linkRecord(ctx context.Context, tx *Tx, conv conversations.Conversation, rec outcomes.Record, by *parley.ID, at time.Time) (outcomes.Link, bool, error) {
	const ins = `INSERT INTO conversation_links (account_id, conversation_id, record_id, created_by, created_at)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, record_id) DO NOTHING`
	res, err := tx.ExecContext(ctx, tx.Rebind(ins), conv.AccountID, conv.ID, rec.ID, by, ms(at))
	if err != nil {
		return outcomes.Link{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		l, lerr := getLink(ctx, tx, conv.AccountID, conv.ID, rec)
		if err == nil {
			err = lerr
		}
		return l, false, err
	}
	if err := addLinks(ctx, tx, conv, 1); err != nil {
		return outcomes.Link{}, false, err
	}
	err = insertEvent(ctx, tx, conv.AccountID, conv.ID, conversations.EventRecordLinked, actorOf(by), by, recordData(rec), at)
	if err != nil {
		return outcomes.Link{}, false, err
	}
	if err := raiseSuggestions(ctx, tx, conv, outcomes.ProposalsForLink(rec), by, at); err != nil {
		return outcomes.Link{}, false, err
	}
	return outcomes.Link{ConversationID: conv.ID, Record: rec, CreatedBy: by, CreatedAt: at.UTC().Truncate(time.Millisecond)}, true, nil
}

func getLink(ctx context.Context, tx *Tx, accountID, conversationID parley.ID, rec outcomes.Record) (outcomes.Link, error) {
	var row linkRow
	q := `SELECT conversation_id, record_id, created_by, created_at FROM conversation_links
WHERE account_id = ? AND conversation_id = ? AND record_id = ?`
	err := tx.GetContext(ctx, &row, tx.Rebind(q), accountID, conversationID, rec.ID)
	return outcomes.Link{ConversationID: conversationID, Record: rec, CreatedBy: idPtr(row.CreatedBy), CreatedAt: fromMS(row.CreatedAt)}, translate(err)
}

// addLinks changes the conversation's count of linked records.
func addLinks(ctx context.Context, tx *Tx, conv conversations.Conversation, n int) error {
	const q = `UPDATE conversations SET links_count = links_count + ? WHERE account_id = ? AND id = ?`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), n, conv.AccountID, conv.ID)
	return err
}

// recordData names a record in an activity-log entry.
func recordData(rec outcomes.Record) map[string]any {
	return map[string]any{"record_id": rec.ID, "record_type": rec.Type, "title": rec.Title}
}

// UnlinkRecord removes a record's link to a conversation: ENOTFOUND when
// it was not linked.
func (db *DB) UnlinkRecord(ctx context.Context, accountID, conversationID, recordID parley.ID, by *parley.ID, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockForAction(ctx, tx, accountID, conversationID)
		if err != nil {
			return err
		}
		rec, err := recordField(ctx, tx, accountID, recordID)
		if err != nil {
			return err
		}
		const del = `DELETE FROM conversation_links WHERE account_id = ? AND conversation_id = ? AND record_id = ?`
		res, err := tx.ExecContext(ctx, tx.Rebind(del), accountID, conv.ID, rec.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "the record is not linked to this conversation")
		}
		if err := addLinks(ctx, tx, conv, -1); err != nil {
			return err
		}
		return insertEvent(ctx, tx, accountID, conv.ID, conversations.EventRecordUnlinked, actorOf(by), by, recordData(rec), at)
	})
}

// ListLinks lists the records linked to a conversation, first linked
// first.
func (db *DB) ListLinks(ctx context.Context, accountID, conversationID parley.ID) ([]outcomes.Link, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, err
	}
	var rows []linkRow
	q := `SELECT conversation_id, record_id, created_by, created_at FROM conversation_links
WHERE account_id = ? AND conversation_id = ? ORDER BY created_at, record_id`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), accountID, conversationID); err != nil {
		return nil, translate(err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.RecordID
	}
	recs, err := recordsByID(ctx, db.db, accountID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]outcomes.Link, len(rows))
	for i, r := range rows {
		out[i] = outcomes.Link{ConversationID: conversationID, Record: recs[r.RecordID], CreatedBy: idPtr(r.CreatedBy), CreatedAt: fromMS(r.CreatedAt)}
	}
	return out, nil
}

// Outcomes.

type outcomeRow struct {
	ID             int64   `db:"id"`
	AccountID      int64   `db:"account_id"`
	ConversationID int64   `db:"conversation_id"`
	Type           string  `db:"type"`
	RecordID       *int64  `db:"record_id"`
	Notes          string  `db:"notes"`
	Metadata       string  `db:"metadata"`
	AmountUnits    *int64  `db:"amount_units"`
	Currency       *string `db:"currency"`
	Source         string  `db:"source"`
	SuggestionID   *int64  `db:"suggestion_id"`
	IdempotencyKey *string `db:"idempotency_key"`
	CreatedBy      *int64  `db:"created_by"`
	CreatedAt      int64   `db:"created_at"`
	DeletedBy      *int64  `db:"deleted_by"`
	DeletedAt      *int64  `db:"deleted_at"`
}

const outcomeColumns = `id, account_id, conversation_id, type, record_id, notes, metadata, amount_units, currency, source,
suggestion_id, idempotency_key, created_by, created_at, deleted_by, deleted_at`

func (r outcomeRow) outcome(recs map[int64]outcomes.Record) outcomes.Outcome {
	o := outcomes.Outcome{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), ConversationID: parley.ID(r.ConversationID),
		Type: outcomes.Type(r.Type), Notes: r.Notes, Metadata: json.RawMessage(r.Metadata), Amount: moneyOf(r.AmountUnits, r.Currency),
		Source: outcomes.Source(r.Source), SuggestionID: idPtr(r.SuggestionID), CreatedBy: idPtr(r.CreatedBy),
		CreatedAt: fromMS(r.CreatedAt), DeletedBy: idPtr(r.DeletedBy), DeletedAt: fromMSPtr(r.DeletedAt)}
	if r.IdempotencyKey != nil {
		o.IdempotencyKey = *r.IdempotencyKey
	}
	if r.RecordID != nil {
		if rec, ok := recs[*r.RecordID]; ok {
			o.Record = &rec
		}
	}
	return o
}

// loadOutcomes reads outcomes with their records.
func loadOutcomes(ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, where string, args ...any) ([]outcomes.Outcome, error) {
	return withRecords(ctx, q, accountID, `SELECT `+outcomeColumns+` FROM outcomes WHERE `+where, args,
		func(r outcomeRow) *int64 { return r.RecordID }, outcomeRow.outcome)
}

// withRecords reads rows that may name a record, then their records in
// one more query, and builds each row's value with its record.
func withRecords[R, T any](ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, query string, args []any,
	recordOf func(R) *int64, build func(R, map[int64]outcomes.Record) T) ([]T, error) {
	var rows []R
	if err := sqlx.SelectContext(ctx, q, &rows, rebind(q, query), args...); err != nil {
		return nil, translate(err)
	}
	var ids []int64
	for _, r := range rows {
		if id := recordOf(r); id != nil {
			ids = append(ids, *id)
		}
	}
	recs, err := recordsByID(ctx, q, accountID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = build(r, recs)
	}
	return out, nil
}

// getOutcome reads one outcome of the account, deleted or not.
func getOutcome(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (outcomes.Outcome, error) {
	os, err := loadOutcomes(ctx, q, accountID, `account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return outcomes.Outcome{}, err
	}
	if len(os) == 0 {
		return outcomes.Outcome{}, parley.Errorf(parley.ENOTFOUND, "no such outcome")
	}
	return os[0], nil
}

// GetOutcome reads an outcome of the account, deleted ones included
// (they say who deleted them).
func (db *DB) GetOutcome(ctx context.Context, accountID, id parley.ID) (outcomes.Outcome, error) {
	return getOutcome(ctx, db.db, accountID, id)
}

// ListOutcomes lists a conversation's live outcomes, oldest first.
func (db *DB) ListOutcomes(ctx context.Context, accountID, conversationID parley.ID) ([]outcomes.Outcome, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, err
	}
	return loadOutcomes(ctx, db.db, accountID, `account_id = ? AND conversation_id = ? AND deleted_at IS NULL ORDER BY id`,
		accountID, conversationID)
}

// CreateOutcome records an outcome, or returns the first one recorded
// with its idempotency key.
func (db *DB) CreateOutcome(ctx context.Context, n outcomes.NewOutcome, amount *outcomes.Money) (outcomes.Outcome, bool, error) {
	var out outcomes.Outcome
	var created bool
	err := db.inTx(ctx, func(tx *Tx) error {
		if first, ok, err := outcomeByKey(ctx, tx, n.AccountID, n.IdempotencyKey); err != nil || ok {
			out = first
			return err
		}
		conv, err := db.lockForAction(ctx, tx, n.AccountID, n.ConversationID)
		if err != nil {
			return err
		}
		out, created, err = createOutcome(ctx, tx, conv, n, amount)
		return err
	})
	return out, created, err
}

// outcomeByKey is the outcome recorded with an idempotency key, if any.
func outcomeByKey(ctx context.Context, tx *Tx, accountID parley.ID, key string) (outcomes.Outcome, bool, error) {
	if key == "" {
		return outcomes.Outcome{}, false, nil
	}
	os, err := loadOutcomes(ctx, tx, accountID, `account_id = ? AND idempotency_key = ?`, accountID, key)
	if err != nil || len(os) == 0 {
		return outcomes.Outcome{}, false, err
	}
	return os[0], true, nil
}

// createOutcome records an outcome on the locked conversation: with the
// conversation's inbox, channel and origin as they are now, its type in
// the conversation's set, an activity-log entry and outcome.created; it
// settles the pending suggestion it answers.
func createOutcome(ctx context.Context, tx *Tx, conv conversations.Conversation, n outcomes.NewOutcome, amount *outcomes.Money) (outcomes.Outcome, bool, error) {
	var rec *outcomes.Record
	if n.RecordID != nil {
		r, err := recordField(ctx, tx, n.AccountID, *n.RecordID)
		if err != nil {
			return outcomes.Outcome{}, false, err
		}
		if err := outcomes.FitRecord(n.Type, r); err != nil {
			return outcomes.Outcome{}, false, err
		}
		rec = &r
	}
	origin, campaignID, err := conversationOrigin(ctx, tx, conv)
	if err != nil {
		return outcomes.Outcome{}, false, err
	}
	meta := n.Metadata
	if len(strings.TrimSpace(string(meta))) == 0 {
		meta = json.RawMessage(`{}`)
	}
	var key any
	if n.IdempotencyKey != "" {
		key = n.IdempotencyKey
	}
	units, cur := moneyCols(amount)
	const ins = `INSERT INTO outcomes (account_id, conversation_id, type, record_id, notes, metadata, amount_units, currency, source,
    suggestion_id, idempotency_key, created_by, created_at, inbox_id, channel_id, origin, origin_campaign_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`
	var ids []int64
	err = tx.SelectContext(ctx, &ids, tx.Rebind(ins), n.AccountID, conv.ID, string(n.Type), n.RecordID, n.Notes, string(meta), units, cur,
		string(n.Source), n.SuggestionID, key, n.CreatedBy, ms(n.At), conv.InboxID, conv.ChannelID, string(origin), campaignID)
	if err != nil {
		return outcomes.Outcome{}, false, err
	}
	if len(ids) == 0 {
		// A concurrent request with the same key recorded it first and
		// has committed.
		first, _, err := outcomeByKey(ctx, tx, n.AccountID, n.IdempotencyKey)
		return first, false, err
	}
	const mask = `UPDATE conversations SET outcome_mask = outcome_mask | ? WHERE account_id = ? AND id = ?`
	if _, err := tx.ExecContext(ctx, tx.Rebind(mask), int64(outcomes.MaskOf(n.Type)), conv.AccountID, conv.ID); err != nil {
		return outcomes.Outcome{}, false, err
	}
	id := parley.ID(ids[0])
	data := map[string]any{"outcome_id": id, "type": n.Type, "source": n.Source}
	addRecordTo(data, rec)
	if err := insertEvent(ctx, tx, conv.AccountID, conv.ID, conversations.EventOutcomeAdded, actorOf(n.CreatedBy), n.CreatedBy, data, n.At); err != nil {
		return outcomes.Outcome{}, false, err
	}
	tx.recordOutcome(events.OutcomeCreated, conv, id, n.Type, n.CreatedBy, n.At)
	if err := settleSuggestions(ctx, tx, conv, id, n); err != nil {
		return outcomes.Outcome{}, false, err
	}
	o, err := getOutcome(ctx, tx, conv.AccountID, id)
	return o, true, err
}

// settleSuggestions settles as accepted, by the outcome id, the pending
// suggestions of the conversation that it answers (Suggestion.SettledBy).
func settleSuggestions(ctx context.Context, tx *Tx, conv conversations.Conversation, id parley.ID, n outcomes.NewOutcome) error {
	pending, err := loadSuggestions(ctx, tx, conv.AccountID, `account_id = ? AND conversation_id = ? AND type = ? AND state = 'pending'`,
		conv.AccountID, conv.ID, string(n.Type))
	if err != nil {
		return err
	}
	const settle = `UPDATE suggestions SET state = 'accepted', outcome_id = ?, decided_by = ?, decided_at = ?
WHERE account_id = ? AND id = ? AND state = 'pending'`
	for _, s := range pending {
		if !s.SettledBy(n.Type, n.RecordID) {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(settle), id, n.CreatedBy, ms(n.At), conv.AccountID, s.ID); err != nil {
			return err
		}
	}
	return nil
}

// addRecordTo names an outcome's record, if any, in its log entry.
func addRecordTo(data map[string]any, rec *outcomes.Record) {
	if rec != nil {
		data["record_id"], data["record_type"], data["record_title"] = rec.ID, rec.Type, rec.Title
	}
}

// recordOutcome adds outcome.created or outcome.deleted.
func (tx *Tx) recordOutcome(typ events.Type, conv conversations.Conversation, id parley.ID, t outcomes.Type, by *parley.ID, at time.Time) {
	data, _ := json.Marshal(map[string]string{"type": string(t)})
	tx.record(events.Event{AccountID: conv.AccountID, Type: typ, ConversationID: conv.ID, SubjectID: id,
		ActorType: string(actorOf(by)), ActorID: by, Data: data, At: at})
}

// conversationOrigin is how the conversation began (reports.OriginOf),
// read from its first text, and the campaign that began it, if any.
func conversationOrigin(ctx context.Context, tx *Tx, conv conversations.Conversation) (reports.Origin, *int64, error) {
	var first []struct {
		Direction  string `db:"direction"`
		CampaignID *int64 `db:"campaign_id"`
	}
	q := `SELECT direction, campaign_id FROM messages WHERE account_id = ? AND conversation_id = ? AND kind = 'text' ORDER BY id LIMIT 1`
	if err := tx.SelectContext(ctx, &first, tx.Rebind(q), conv.AccountID, conv.ID); err != nil {
		return "", nil, err
	}
	if len(first) == 0 {
		return reports.OriginOf("", nil), nil, nil
	}
	origin := reports.OriginOf(conversations.Direction(first[0].Direction), idPtr(first[0].CampaignID))
	if origin != reports.OriginCampaign {
		return origin, nil, nil
	}
	return origin, first[0].CampaignID, nil
}

// DeleteOutcome soft-deletes a live outcome and takes its type out of
// the conversation's set unless another live outcome has it.
func (db *DB) DeleteOutcome(ctx context.Context, accountID, id, by parley.ID, at time.Time) (outcomes.Outcome, error) {
	var out outcomes.Outcome
	err := db.inTx(ctx, func(tx *Tx) error {
		o, err := getOutcome(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		conv, err := db.lockForAction(ctx, tx, accountID, o.ConversationID)
		if err != nil {
			return err
		}
		const del = `UPDATE outcomes SET deleted_by = ?, deleted_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL`
		res, err := tx.ExecContext(ctx, tx.Rebind(del), by, ms(at), accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "no such outcome")
		}
		if err := recomputeMask(ctx, tx, conv); err != nil {
			return err
		}
		data := map[string]any{"outcome_id": o.ID, "type": o.Type}
		addRecordTo(data, o.Record)
		if err := insertEvent(ctx, tx, accountID, conv.ID, conversations.EventOutcomeDeleted, conversations.ActorUser, &by, data, at); err != nil {
			return err
		}
		tx.recordOutcome(events.OutcomeDeleted, conv, o.ID, o.Type, &by, at)
		out, err = getOutcome(ctx, tx, accountID, id)
		return err
	})
	return out, err
}

// recomputeMask sets the conversation's set of outcome types from its
// live outcomes.
func recomputeMask(ctx context.Context, tx *Tx, conv conversations.Conversation) error {
	var types []string
	q := `SELECT DISTINCT type FROM outcomes WHERE account_id = ? AND conversation_id = ? AND deleted_at IS NULL`
	if err := tx.SelectContext(ctx, &types, tx.Rebind(q), conv.AccountID, conv.ID); err != nil {
		return err
	}
	ts := make([]outcomes.Type, len(types))
	for i, t := range types {
		ts[i] = outcomes.Type(t)
	}
	const upd = `UPDATE conversations SET outcome_mask = ? WHERE account_id = ? AND id = ?`
	_, err := tx.ExecContext(ctx, tx.Rebind(upd), int64(outcomes.MaskOf(ts...)), conv.AccountID, conv.ID)
	return err
}

// Suggestions.

type suggestionRow struct {
	ID             int64  `db:"id"`
	AccountID      int64  `db:"account_id"`
	ConversationID int64  `db:"conversation_id"`
	Type           string `db:"type"`
	RecordID       *int64 `db:"record_id"`
	Reason         string `db:"reason"`
	State          string `db:"state"`
	OutcomeID      *int64 `db:"outcome_id"`
	DecidedBy      *int64 `db:"decided_by"`
	DecidedAt      *int64 `db:"decided_at"`
	CreatedAt      int64  `db:"created_at"`
}

const suggestionColumns = `id, account_id, conversation_id, type, record_id, reason, state, outcome_id, decided_by, decided_at, created_at`

func (r suggestionRow) suggestion(recs map[int64]outcomes.Record) outcomes.Suggestion {
	s := outcomes.Suggestion{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), ConversationID: parley.ID(r.ConversationID),
		Type: outcomes.Type(r.Type), Reason: r.Reason, State: outcomes.SuggestionState(r.State), OutcomeID: idPtr(r.OutcomeID),
		DecidedBy: idPtr(r.DecidedBy), DecidedAt: fromMSPtr(r.DecidedAt), CreatedAt: fromMS(r.CreatedAt)}
	if r.RecordID != nil {
		if rec, ok := recs[*r.RecordID]; ok {
			s.Record = &rec
		}
	}
	return s
}

func loadSuggestions(ctx context.Context, q sqlx.QueryerContext, accountID parley.ID, where string, args ...any) ([]outcomes.Suggestion, error) {
	return withRecords(ctx, q, accountID, `SELECT `+suggestionColumns+` FROM suggestions WHERE `+where, args,
		func(r suggestionRow) *int64 { return r.RecordID }, suggestionRow.suggestion)
}

func getSuggestion(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (outcomes.Suggestion, error) {
	ss, err := loadSuggestions(ctx, q, accountID, `account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return outcomes.Suggestion{}, err
	}
	if len(ss) == 0 {
		return outcomes.Suggestion{}, parley.Errorf(parley.ENOTFOUND, "no such suggestion")
	}
	return ss[0], nil
}

// GetSuggestion reads a suggestion of the account, in any state.
func (db *DB) GetSuggestion(ctx context.Context, accountID, id parley.ID) (outcomes.Suggestion, error) {
	return getSuggestion(ctx, db.db, accountID, id)
}

// ListSuggestions lists a conversation's pending suggestions, oldest
// first.
func (db *DB) ListSuggestions(ctx context.Context, accountID, conversationID parley.ID) ([]outcomes.Suggestion, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, err
	}
	return loadSuggestions(ctx, db.db, accountID, `account_id = ? AND conversation_id = ? AND state = 'pending' ORDER BY id`,
		accountID, conversationID)
}

// raiseSuggestions adds the proposals to the locked conversation, but
// none that is pending already or whose outcome the conversation has;
// each new one writes suggestion.created and notifies the assignee, unless
// the assignee is who caused it (by).
func raiseSuggestions(ctx context.Context, tx *Tx, conv conversations.Conversation, proposals []outcomes.Proposal, by *parley.ID, at time.Time) error {
	for _, p := range proposals {
		had, err := hasOutcome(ctx, tx, conv, p)
		if err != nil {
			return err
		}
		if had {
			continue
		}
		// suggestions_pending refuses a second pending one: the conflict
		// leaves nothing to return.
		const ins = `INSERT INTO suggestions (account_id, conversation_id, type, record_id, reason, state, created_at)
VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING RETURNING id`
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(ins), conv.AccountID, conv.ID, string(p.Type), p.RecordID, p.Reason, ms(at)); err != nil {
			return err
		}
		if len(ids) == 0 {
			continue
		}
		data, _ := json.Marshal(map[string]string{"type": string(p.Type)})
		tx.record(events.Event{AccountID: conv.AccountID, Type: events.SuggestionCreated, ConversationID: conv.ID, SubjectID: parley.ID(ids[0]),
			ActorType: string(conversations.ActorSystem), Data: data, At: at})
		if conv.AssigneeID != nil && (by == nil || *by != *conv.AssigneeID) {
			err := notify(ctx, tx, conversations.Notification{AccountID: conv.AccountID, UserID: *conv.AssigneeID,
				Kind: conversations.NotifyOutcomeSuggested, ConversationID: conv.ID, CreatedAt: at})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// hasOutcome reports whether the conversation has a live outcome of the
// proposal's type (and record, when it names one).
func hasOutcome(ctx context.Context, tx *Tx, conv conversations.Conversation, p outcomes.Proposal) (bool, error) {
	q := `SELECT id FROM outcomes WHERE account_id = ? AND conversation_id = ? AND type = ? AND deleted_at IS NULL`
	args := []any{conv.AccountID, conv.ID, string(p.Type)}
	if p.RecordID != nil {
		q, args = q+` AND record_id = ?`, append(args, *p.RecordID)
	}
	var ids []int64
	err := tx.SelectContext(ctx, &ids, tx.Rebind(q+` LIMIT 1`), args...)
	return len(ids) > 0, err
}

// lockSuggestion reads a suggestion and locks its conversation, then
// reads it again under the lock: its state is then the one to decide on.
func (db *DB) lockSuggestion(ctx context.Context, tx *Tx, accountID, id parley.ID) (outcomes.Suggestion, conversations.Conversation, error) {
	s, err := getSuggestion(ctx, tx, accountID, id)
	if err != nil {
		return s, conversations.Conversation{}, err
	}
	conv, err := db.lockForAction(ctx, tx, accountID, s.ConversationID)
	if err != nil {
		return s, conv, err
	}
	s, err = getSuggestion(ctx, tx, accountID, id)
	if err == nil && s.State != outcomes.SuggestionPending {
		err = parley.Conflict("suggestion_decided", "the suggestion was already %s", s.State)
	}
	return s, conv, err
}

// AcceptSuggestion records the outcome a pending suggestion proposed,
// as the person edited it, and settles the suggestion with it.
func (db *DB) AcceptSuggestion(ctx context.Context, accountID parley.ID, a outcomes.Accept, amount *outcomes.Money) (outcomes.Outcome, error) {
	var out outcomes.Outcome
	err := db.inTx(ctx, func(tx *Tx) error {
		s, conv, err := db.lockSuggestion(ctx, tx, accountID, a.SuggestionID)
		if err != nil {
			return err
		}
		n := outcomes.NewOutcome{AccountID: accountID, ConversationID: conv.ID, Type: s.Type, RecordID: a.RecordID, Notes: a.Notes,
			Metadata: a.Metadata, Source: outcomes.SourceSuggestion, SuggestionID: &s.ID, CreatedBy: &a.By, At: a.At}
		if n.RecordID == nil && s.Record != nil {
			n.RecordID = &s.Record.ID
		}
		if out, _, err = createOutcome(ctx, tx, conv, n, amount); err != nil {
			return err
		}
		// Settled already when the outcome's record is the suggestion's.
		const settle = `UPDATE suggestions SET state = 'accepted', outcome_id = ?, decided_by = ?, decided_at = ?
WHERE account_id = ? AND id = ? AND state = 'pending'`
		_, err = tx.ExecContext(ctx, tx.Rebind(settle), out.ID, a.By, ms(a.At), accountID, s.ID)
		return err
	})
	return out, err
}

// DismissSuggestion settles a pending suggestion as dismissed and logs
// it in the conversation's activity.
func (db *DB) DismissSuggestion(ctx context.Context, accountID, id, by parley.ID, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		s, conv, err := db.lockSuggestion(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		const q = `UPDATE suggestions SET state = 'dismissed', decided_by = ?, decided_at = ? WHERE account_id = ? AND id = ? AND state = 'pending'`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), by, ms(at), accountID, s.ID); err != nil {
			return err
		}
		data := map[string]any{"suggestion_id": s.ID, "type": s.Type}
		addRecordTo(data, s.Record)
		return insertEvent(ctx, tx, accountID, conv.ID, conversations.EventSuggestionDismissed, conversations.ActorUser, &by, data, at)
	})
}
