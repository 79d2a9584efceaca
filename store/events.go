package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// insertEvent appends to a conversation's activity log.
func insertEvent(ctx context.Context, tx *sqlx.Tx, accountID, conversationID parley.ID, typ conversations.EventType,
	actor conversations.ActorType, actorID *parley.ID, data map[string]any, at time.Time) error {
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	const q = `INSERT INTO conversation_events (account_id, conversation_id, type, actor_type, actor_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	_, err = tx.ExecContext(ctx, tx.Rebind(q), accountID, conversationID, string(typ), string(actor), actorID, string(raw), ms(at))
	return err
}
