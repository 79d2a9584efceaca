package store

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// ReadThread reads a page of a thread from its newest end, with the
// conversation, in one snapshot: both page queries walk the
// (conversation_id, id) indexes backwards and stop at their limits, so a
// page costs the same in a thread of ten texts or a million.
func (db *DB) ReadThread(ctx context.Context, accountID, conversationID, before parley.ID, limit int) (conversations.ThreadPage, error) {
	var page conversations.ThreadPage
	limit = conversations.Page{Limit: limit}.Normalize().Limit
	tx, err := db.readSnapshot(ctx)
	if err != nil {
		return page, err
	}
	defer tx.Rollback()
	if page.Conversation, err = getConversation(ctx, tx, accountID, conversationID); err != nil {
		return page, err
	}
	q := `SELECT ` + messageColumns + ` FROM messages WHERE account_id = ? AND conversation_id = ?`
	args := []any{accountID, conversationID}
	if before != 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	var rows []messageRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q+` ORDER BY id DESC LIMIT ?`), append(args, limit+1)...); err != nil {
		return page, translate(err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		page.Older = parley.ID(rows[limit-1].ID)
	}
	slices.Reverse(rows)
	page.Messages = make([]conversations.Message, len(rows))
	for i, r := range rows {
		m, err := r.message()
		if err != nil {
			return page, err
		}
		page.Messages[i] = m
	}

	// The events of the same stretch: from the oldest message shown (the
	// start when nothing is older) to the message the newer page begins
	// with (now when this is the newest page).
	eq := `SELECT ` + activityColumns + ` FROM conversation_events WHERE account_id = ? AND conversation_id = ?`
	eargs := []any{accountID, conversationID}
	if page.Older != 0 && len(rows) > 0 {
		eq += ` AND created_at >= ?`
		eargs = append(eargs, rows[0].CreatedAt)
	}
	if before != 0 {
		eq += ` AND created_at < (SELECT created_at FROM messages WHERE account_id = ? AND id = ?)`
		eargs = append(eargs, accountID, before)
	}
	var erows []eventRow
	if err := tx.SelectContext(ctx, &erows, tx.Rebind(eq+` ORDER BY id DESC LIMIT ?`), append(eargs, conversations.MaxThreadEvents)...); err != nil {
		return page, translate(err)
	}
	slices.Reverse(erows)
	page.Events = make([]conversations.Event, len(erows))
	for i, r := range erows {
		e, err := r.event()
		if err != nil {
			return page, err
		}
		page.Events[i] = e
	}
	return page, nil
}

const activityColumns = `id, account_id, conversation_id, type, actor_type, actor_id, data, created_at`

func (r eventRow) event() (conversations.Event, error) {
	e := conversations.Event{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), ConversationID: parley.ID(r.ConversationID),
		Type: conversations.EventType(r.Type), ActorType: conversations.ActorType(r.ActorType), ActorID: idPtr(r.ActorID), CreatedAt: fromMS(r.CreatedAt)}
	return e, json.Unmarshal([]byte(r.Data), &e.Data)
}
