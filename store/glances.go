package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// What a list row shows of its conversation besides the conversation
// (conversations.GlanceStore): a page's glances are one query, each
// conversation's latest text found through messages_conversation.

// glanceExcerpt is how many characters of the latest text a glance keeps.
const glanceExcerpt = 160

const glanceQuery = `SELECT cv.id AS conversation_id, COALESCE(u.name, '') AS assignee_name,
       COALESCE(SUBSTR(m.body, 1, ?), '') AS last_text, COALESCE(m.direction, '') AS last_text_direction, r.read_at
FROM conversations cv
LEFT JOIN users u ON u.id = cv.assignee_id
LEFT JOIN messages m ON m.id = (SELECT lm.id FROM messages lm WHERE lm.conversation_id = cv.id AND lm.kind = 'text'
                                ORDER BY lm.id DESC LIMIT 1)
LEFT JOIN conversation_reads r ON r.user_id = ? AND r.conversation_id = cv.id
WHERE cv.account_id = ? AND cv.id IN (?)`

// GlanceConversations reads the glances of the account's conversations
// ids for user userID.
func (db *DB) GlanceConversations(ctx context.Context, accountID, userID parley.ID, ids []parley.ID) (map[parley.ID]conversations.Glance, error) {
	out := make(map[parley.ID]conversations.Glance, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(glanceQuery, glanceExcerpt, userID, accountID, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ConversationID    int64  `db:"conversation_id"`
		AssigneeName      string `db:"assignee_name"`
		LastText          string `db:"last_text"`
		LastTextDirection string `db:"last_text_direction"`
		ReadAt            *int64 `db:"read_at"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, translate(err)
	}
	for _, r := range rows {
		out[parley.ID(r.ConversationID)] = conversations.Glance{ConversationID: parley.ID(r.ConversationID),
			AssigneeName: r.AssigneeName, LastText: r.LastText, LastTextDirection: conversations.Direction(r.LastTextDirection),
			ReadAt: fromMSPtr(r.ReadAt)}
	}
	return out, nil
}

// MarkConversationRead notes that user userID opened the conversation at
// `at`, unless they were noted opening it later.
func (db *DB) MarkConversationRead(ctx context.Context, accountID, userID, conversationID parley.ID, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := getConversation(ctx, tx, accountID, conversationID); err != nil {
			return err
		}
		const q = `INSERT INTO conversation_reads (account_id, user_id, conversation_id, read_at) VALUES (?, ?, ?, ?)
ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_at = excluded.read_at
WHERE conversation_reads.read_at < excluded.read_at`
		_, err := tx.ExecContext(ctx, tx.Rebind(q), accountID, userID, conversationID, ms(at))
		return translate(err)
	})
}
