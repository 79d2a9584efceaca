package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// notify writes notifications in the caller's transaction, in one
// statement, and records notification.created for each.
func notify(ctx context.Context, tx *Tx, ns ...conversations.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	args := make([]any, 0, 7*len(ns))
	for _, n := range ns {
		args = append(args, n.AccountID, n.UserID, string(n.Kind), n.ConversationID, n.MessageID, n.ActorID, ms(n.CreatedAt))
	}
	q := valuesRows(`INSERT INTO notifications (account_id, user_id, kind, conversation_id, message_id, actor_id, created_at) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?)`, len(ns)) + ` RETURNING ` + notificationColumns
	var rows []notificationRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return err
	}
	stored := make([]conversations.Notification, len(rows))
	for i, r := range rows {
		stored[i] = r.notification()
	}
	tx.recordNotifications(stored)
	return nil
}

type notificationRow struct {
	ID             int64  `db:"id"`
	AccountID      int64  `db:"account_id"`
	UserID         int64  `db:"user_id"`
	Kind           string `db:"kind"`
	ConversationID *int64 `db:"conversation_id"`
	MessageID      *int64 `db:"message_id"`
	EndpointID     *int64 `db:"webhook_endpoint_id"`
	ActorID        *int64 `db:"actor_id"`
	ReadAt         *int64 `db:"read_at"`
	CreatedAt      int64  `db:"created_at"`
}

const notificationColumns = `id, account_id, user_id, kind, conversation_id, message_id, webhook_endpoint_id, actor_id, read_at, created_at`

// readRank orders unread (0) before read (1); the index on notifications
// uses the same expression.
const readRank = `(CASE WHEN read_at IS NULL THEN 0 ELSE 1 END)`

func (r notificationRow) notification() conversations.Notification {
	n := conversations.Notification{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), UserID: parley.ID(r.UserID),
		Kind: conversations.NotificationKind(r.Kind), MessageID: idPtr(r.MessageID), WebhookEndpointID: idPtr(r.EndpointID),
		ActorID: idPtr(r.ActorID), ReadAt: fromMSPtr(r.ReadAt), CreatedAt: fromMS(r.CreatedAt)}
	if r.ConversationID != nil {
		n.ConversationID = parley.ID(*r.ConversationID)
	}
	return n
}

// ListNotifications lists a user's notifications: unread first, newest first.
func (db *DB) ListNotifications(ctx context.Context, accountID, userID parley.ID, page conversations.Page) ([]conversations.Notification, string, error) {
	page = page.Normalize()
	where, args := "account_id = ? AND user_id = ?", []any{accountID, userID}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		where += " AND (" + readRank + " > ? OR (" + readRank + " = ? AND id < ?))"
		args = append(args, key[0], key[0], key[1])
	}
	var rows []notificationRow
	q := `SELECT ` + notificationColumns + ` FROM notifications WHERE ` + where + ` ORDER BY ` + readRank + `, id DESC LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(args, page.Limit+1)...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		last := rows[len(rows)-1]
		rank := int64(0)
		if last.ReadAt != nil {
			rank = 1
		}
		next = encodeCursor(rank, last.ID)
	}
	out := make([]conversations.Notification, len(rows))
	for i, r := range rows {
		out[i] = r.notification()
	}
	return out, next, nil
}

// GetNotification reads one notification of the account (an event's
// subject), whoever it is for; ENOTFOUND when there is none.
func (db *DB) GetNotification(ctx context.Context, accountID, id parley.ID) (conversations.Notification, error) {
	var row notificationRow
	q := `SELECT ` + notificationColumns + ` FROM notifications WHERE account_id = ? AND id = ?`
	if err := db.db.GetContext(ctx, &row, db.db.Rebind(q), accountID, id); err != nil {
		return conversations.Notification{}, translate(err)
	}
	return row.notification(), nil
}

// MarkNotificationRead marks one of the user's notifications read; marking
// it again keeps the first read time.
func (db *DB) MarkNotificationRead(ctx context.Context, accountID, userID, id parley.ID, at time.Time) (conversations.Notification, error) {
	var row notificationRow
	err := db.inTx(ctx, func(tx *Tx) error {
		q := `UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE account_id = ? AND user_id = ? AND id = ? RETURNING ` + notificationColumns
		return tx.GetContext(ctx, &row, tx.Rebind(q), ms(at), accountID, userID, id)
	})
	return row.notification(), err
}
