package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

var _ conversations.RevocationStore = (*DB)(nil)

// AnswerRevocation clears a conversation's waiting flag as staff answered
// it: for an opt-out, the consent log gets it with the flagged text as
// evidence and the staff member who recorded it.
func (db *DB) AnswerRevocation(ctx context.Context, accountID, conversationID parley.ID, by conversations.User, a conversations.RevocationAnswer, at time.Time) (conversations.Conversation, error) {
	if !a.Valid() {
		return conversations.Conversation{}, parley.Invalid(map[string]string{"answer": "must be opted_out or dismissed"})
	}
	var out conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockToAct(ctx, tx, accountID, conversationID, by)
		if err != nil {
			return err
		}
		flag := conv.Revocation
		if flag == nil {
			return &parley.Error{Kind: parley.ECONFLICT, Code: conversations.CodeNoRevocationFlag,
				Message: "this conversation has no text waiting to be read as a request to stop texting"}
		}
		const clear = `UPDATE conversations SET ` + clearedFlag + `, updated_at = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, tx.Rebind(clear), ms(at), conv.ID); err != nil {
			return err
		}
		if a == conversations.RevocationOptedOut {
			var evidence *parley.ID
			if flag.MessageID != 0 {
				evidence = &flag.MessageID
			}
			if _, err := recordConsent(ctx, tx, optout.Change{AccountID: accountID, Phone: conv.ContactPhone, Action: optout.ActionOptOut,
				Source: optout.SourceStaff, MessageID: evidence, UserID: &by.ID, Detail: "revocation: " + flag.Rule, At: at}); err != nil {
				return err
			}
		}
		data := map[string]any{"answer": a, "rule": flag.Rule, "reason": flag.Reason}
		if flag.MessageID != 0 {
			data["message_id"] = flag.MessageID
		}
		if err := userEvent(ctx, tx, conv, conversations.EventRevocationAnswered, by, data, at); err != nil {
			return err
		}
		out, err = getConversation(ctx, tx, accountID, conv.ID)
		return err
	})
	return out, err
}

// revocationFlagsCleared clears the flags of the phone's conversations as it
// opts out, however it did: the opt-out they asked for is done.
func revocationFlagsCleared(accountID parley.ID, phone string, at time.Time) statement {
	return statement{query: `UPDATE conversations SET ` + clearedFlag + `, updated_at = ?
WHERE account_id = ? AND contact_phone = ? AND revocation_flagged_at IS NOT NULL`, args: []any{ms(at), accountID, phone}}
}

// clearedFlag sets a conversation's flag columns to "no flag".
const clearedFlag = `revocation_flagged_at = NULL, revocation_message_id = NULL, revocation_rule = '',
    revocation_reason = '', revocation_notified_at = NULL`

// RemindUnansweredRevocations notifies of each flag raised before cutoff
// and not yet reminded of: its conversation's assignee, or every active
// admin of an unassigned one. Each flag is reminded of once, whichever
// instance gets to it first; finding none takes no write.
func (db *DB) RemindUnansweredRevocations(ctx context.Context, cutoff, at time.Time) (int, error) {
	type dueFlag struct {
		ID        int64  `db:"id"`
		AccountID int64  `db:"account_id"`
		FlaggedAt int64  `db:"revocation_flagged_at"`
		MessageID *int64 `db:"revocation_message_id"`
	}
	var due []dueFlag
	const q = `SELECT id, account_id, revocation_flagged_at, revocation_message_id FROM conversations
WHERE revocation_flagged_at IS NOT NULL AND revocation_flagged_at < ? AND revocation_notified_at IS NULL
ORDER BY revocation_flagged_at LIMIT 500`
	if err := db.db.SelectContext(ctx, &due, db.rebind(q), ms(cutoff)); err != nil || len(due) == 0 {
		return 0, translate(err)
	}
	n := 0
	err := db.inTx(ctx, func(tx *Tx) error {
		var notes []conversations.Notification
		for _, c := range due {
			// The same flag (raised at the same time), still unreminded: one
			// answered and raised again meanwhile waits for its own day,
			// and one reminded of by another instance is not again. The
			// assignee is read as it is now.
			var claimed []struct {
				Assignee *int64 `db:"assignee_id"`
			}
			if err := tx.SelectContext(ctx, &claimed, tx.Rebind(`UPDATE conversations SET revocation_notified_at = ?
WHERE id = ? AND revocation_flagged_at = ? AND revocation_notified_at IS NULL RETURNING assignee_id`), ms(at), c.ID, c.FlaggedAt); err != nil {
				return err
			}
			if len(claimed) == 0 {
				continue
			}
			users := []int64{}
			if a := claimed[0].Assignee; a != nil {
				users = append(users, *a)
			} else if err := tx.SelectContext(ctx, &users, tx.Rebind(`SELECT id FROM users WHERE account_id = ? AND role = 'admin' AND active ORDER BY id`), c.AccountID); err != nil {
				return err
			}
			for _, u := range users {
				notes = append(notes, conversations.Notification{AccountID: parley.ID(c.AccountID), UserID: parley.ID(u),
					Kind: conversations.NotifyRevocationUnanswered, ConversationID: parley.ID(c.ID), MessageID: idPtr(c.MessageID), CreatedAt: at})
			}
			n++
		}
		return notify(ctx, tx, notes...)
	})
	return n, err
}
