package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// event is one entry of a conversation's activity log, to be written.
type event struct {
	conversationID parley.ID
	typ            conversations.EventType
	actor          conversations.ActorType
	actorID        *parley.ID
	data           map[string]any
	at             time.Time
}

// eventsOf are the entries the domain decided on, to be written.
func eventsOf(decided []conversations.Event) []event {
	events := make([]event, len(decided))
	for i, e := range decided {
		events[i] = event{e.ConversationID, e.Type, e.ActorType, e.ActorID, e.Data, e.CreatedAt}
	}
	return events
}

// insertEvent appends to a conversation's activity log.
func insertEvent(ctx context.Context, tx *Tx, accountID, conversationID parley.ID, typ conversations.EventType,
	actor conversations.ActorType, actorID *parley.ID, data map[string]any, at time.Time) error {
	return insertEvents(ctx, tx, accountID, []event{{conversationID, typ, actor, actorID, data, at}})
}

// insertEvents appends entries to the activity logs of an account's
// conversations in one statement.
func insertEvents(ctx context.Context, tx *Tx, accountID parley.ID, events []event) error {
	st, err := eventsStatement(tx, accountID, events)
	if err != nil {
		return err
	}
	return execTogether(ctx, tx, st)
}

// eventsStatement is the insert of insertEvents; the log's conversation
// events are recorded with it.
func eventsStatement(tx *Tx, accountID parley.ID, events []event) (statement, error) {
	tx.recordConversationEvents(accountID, events)
	return activityStatement(tx, accountID, events)
}

// activityStatement is eventsStatement for entries whose log events were
// recorded already, in their turn among the transaction's other changes.
func activityStatement(tx *Tx, accountID parley.ID, events []event) (statement, error) {
	if len(events) == 0 {
		return statement{}, nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		data := e.data
		if data == nil {
			data = map[string]any{}
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return statement{}, err
		}
		rows[i] = []any{e.conversationID, string(e.typ), string(e.actor), e.actorID, string(raw), ms(e.at)}
	}
	d := dialectOf(tx)
	q := `WITH ` + d.batchRows("v", "conversation_id BIGINT", "type TEXT", "actor_type TEXT", "actor_id BIGINT", "data TEXT", "created_at BIGINT") + `
INSERT INTO conversation_events (account_id, conversation_id, type, actor_type, actor_id, data, created_at)
SELECT ?, conversation_id, type, actor_type, actor_id, ` + d.jsonValue("data") + `, created_at FROM v`
	st := batchStatement(q, rows, accountID)
	return st, st.err
}

// valuesRows is an INSERT of n rows: head, then row n times.
func valuesRows(head, row string, n int) string {
	var q strings.Builder
	q.Grow(len(head) + n*(len(row)+2))
	q.WriteString(head)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
	}
	return q.String()
}
