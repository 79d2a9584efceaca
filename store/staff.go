package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/outcomes"
)

// lockForAction reads a conversation for a staff action and, on
// PostgreSQL, locks it until the action commits, so the permission check
// and the write see the same assignee.
func (db *DB) lockForAction(ctx context.Context, tx *Tx, accountID, id parley.ID) (conversations.Conversation, error) {
	var row conversationRow
	q := selectConversation + ` WHERE cv.account_id = ? AND cv.id = ?` + db.dialect.forUpdateOf("cv")
	err := tx.GetContext(ctx, &row, tx.Rebind(q), accountID, id)
	return row.conversation(), translate(err)
}

// lockToAct locks a conversation for a staff action and checks that the
// actor may act on it (conversations.CanAct): EFORBIDDEN otherwise.
func (db *DB) lockToAct(ctx context.Context, tx *Tx, accountID, id parley.ID, actor conversations.User) (conversations.Conversation, error) {
	conv, err := db.lockForAction(ctx, tx, accountID, id)
	if err != nil {
		return conv, err
	}
	if !conversations.CanAct(actor, conv) {
		return conv, parley.Errorf(parley.EFORBIDDEN, "this conversation is not assigned to you")
	}
	return conv, nil
}

func userEvent(ctx context.Context, tx *Tx, c conversations.Conversation, typ conversations.EventType, actor conversations.User, data map[string]any, at time.Time) error {
	return insertEvent(ctx, tx, c.AccountID, c.ID, typ, conversations.ActorUser, &actor.ID, data, at)
}

// ChangeStatus applies a lifecycle action. Repeating the current status is
// a no-op that logs nothing; any other status clears a snooze. A resolve
// or close applies the tag it names first; ending an episode closes it
// with its final tag, and a reopen starts the next one.
func (db *DB) ChangeStatus(ctx context.Context, c conversations.StatusChange) (conversations.Conversation, error) {
	var out conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockToAct(ctx, tx, c.AccountID, c.ConversationID, c.Actor)
		if err != nil {
			return err
		}
		target, _ := c.Action.Target()
		until := c.Until
		if target != conversations.StatusSnoozed {
			until = nil
		}
		sameUntil := (until == nil && conv.SnoozedUntil == nil) || (until != nil && conv.SnoozedUntil != nil && until.Equal(*conv.SnoozedUntil))
		final, err := db.tagOnEnding(ctx, tx, conv, target, c)
		if err != nil {
			return err
		}
		if conv.Status == target && sameUntil {
			if conversations.ReEnds(conv.Status, target, c.TagID != nil) {
				if err := db.reEnd(ctx, tx, conv, c, final); err != nil {
					return err
				}
			}
			out, err = getConversation(ctx, tx, c.AccountID, conv.ID)
			return err
		}
		const q = `UPDATE conversations SET status = ?, snoozed_until = ?, updated_at = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), string(target), msPtr(until), ms(c.At), conv.ID); err != nil {
			return err
		}
		data := map[string]any{"from": conv.Status, "to": target, "action": c.Action}
		if until != nil {
			data["until"] = until.UTC().Format(time.RFC3339)
		}
		if err := userEvent(ctx, tx, conv, conversations.EventStatusChanged, c.Actor, data, c.At); err != nil {
			return err
		}
		if err := db.keepEpisodes(ctx, tx, conv, target, &c.Actor.ID, final, c.At); err != nil {
			return err
		}
		if conversations.ResolvesIssue(conv.Status, target) {
			if err := raiseSuggestions(ctx, tx, conv, outcomes.ProposalsForResolve(), &c.Actor.ID, c.At); err != nil {
				return err
			}
		}
		out, err = getConversation(ctx, tx, c.AccountID, conv.ID)
		return err
	})
	return out, err
}

// reEnd is a resolve or close naming a tag on a conversation already in
// that status: when it records an ending (reEndEpisode), the change is
// logged as a status change to the same status, with the final tag.
func (db *DB) reEnd(ctx context.Context, tx *Tx, conv conversations.Conversation, c conversations.StatusChange, final *conversations.TagRef) error {
	recorded, err := reEndEpisode(ctx, tx, conv, conv.Status, &c.Actor.ID, final, c.At)
	if err != nil || !recorded {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE conversations SET updated_at = ? WHERE id = ?`), ms(c.At), conv.ID); err != nil {
		return err
	}
	data := map[string]any{"from": conv.Status, "to": conv.Status, "action": c.Action}
	if final != nil {
		data["final_tag_id"] = final.ID
	}
	return userEvent(ctx, tx, conv, conversations.EventStatusChanged, c.Actor, data, c.At)
}

// tagOnEnding checks a resolve or close against the account's closing
// tag rule when it ends the episode, and applies the tag the action
// names. It returns the final tag the episode closes with: the named
// tag, which the action chose to end with even when it was on already,
// else the one applied last.
func (db *DB) tagOnEnding(ctx context.Context, tx *Tx, conv conversations.Conversation, target conversations.Status,
	c conversations.StatusChange) (*conversations.TagRef, error) {
	if target != conversations.StatusResolved && target != conversations.StatusClosed {
		return nil, nil
	}
	if conversations.Closes(conv.Status, target) && c.TagID == nil {
		settings, err := accountSettings(ctx, tx, c.AccountID)
		if err != nil {
			return nil, err
		}
		tagged, err := hasTags(ctx, tx, conv.ID)
		if err != nil {
			return nil, err
		}
		if err := conversations.ClosingTagRequired(settings, tagged, c.TagID); err != nil {
			return nil, err
		}
	}
	if c.TagID != nil {
		tag, err := db.applyTag(ctx, tx, conv, *c.TagID, c.Actor, c.At)
		if err != nil {
			return nil, err
		}
		ref := tag.ref()
		return &ref, nil
	}
	if !conversations.Closes(conv.Status, target) {
		return nil, nil
	}
	applied, err := appliedTags(ctx, tx, conv.AccountID, conv.ID)
	if err != nil {
		return nil, err
	}
	return conversations.FinalTag(applied), nil
}

// keepEpisodes ends the conversation's episode, or starts its next one,
// as its status goes from conv's to target.
func (db *DB) keepEpisodes(ctx context.Context, tx *Tx, conv conversations.Conversation, target conversations.Status, by *parley.ID,
	final *conversations.TagRef, at time.Time) error {
	switch {
	case conversations.Closes(conv.Status, target):
		return closeEpisode(ctx, tx, conv, target, by, final, at)
	case conversations.ReEnds(conv.Status, target, final != nil): // final: the tag the action named
		_, err := reEndEpisode(ctx, tx, conv, target, by, final, at)
		return err
	case conversations.Opens(conv.Status, target):
		return openEpisode(ctx, tx, conv.AccountID, conv.ID, at)
	}
	return nil
}

// Assign sets or clears the assignee and notifies the new one.
func (db *DB) Assign(ctx context.Context, a conversations.Assignment) (conversations.Conversation, error) {
	var out conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		var assignee conversations.User
		var assigneeErr error
		if a.AssigneeID != nil {
			assignee, assigneeErr = db.lockUser(ctx, tx, a.AccountID, *a.AssigneeID)
			if assigneeErr != nil && !parley.IsKind(assigneeErr, parley.ENOTFOUND) {
				return assigneeErr
			}
		}
		conv, err := db.lockForAction(ctx, tx, a.AccountID, a.ConversationID)
		if err != nil {
			return err
		}
		if !conversations.CanAssign(a.Actor, conv) {
			return parley.Errorf(parley.EFORBIDDEN, "only admins, users who see all conversations and the assignee may reassign it")
		}
		switch {
		case assigneeErr != nil:
			return parley.Invalid(map[string]string{"assignee_id": "no such user"})
		case a.AssigneeID != nil && !assignee.Active:
			return parley.Invalid(map[string]string{"assignee_id": "this user was deactivated"})
		}
		if err := setAssignee(ctx, tx, conv, a.AssigneeID, &a.Actor, "assigned", a.At); err != nil {
			return err
		}
		out, err = getConversation(ctx, tx, a.AccountID, conv.ID)
		return err
	})
	return out, err
}

// setAssignee changes the assignee, logs it and notifies the new assignee
// unless they assigned themself. actor is nil for the system.
func setAssignee(ctx context.Context, tx *Tx, conv conversations.Conversation, to *parley.ID, actor *conversations.User, reason string, at time.Time) error {
	return setAssigneeWith(ctx, tx, conv, to, actor, reason, nil, at)
}

// setAssigneeWith is setAssignee with more detail for the event.
func setAssigneeWith(ctx context.Context, tx *Tx, conv conversations.Conversation, to *parley.ID, actor *conversations.User, reason string, detail map[string]any, at time.Time) error {
	if (to == nil && conv.AssigneeID == nil) || (to != nil && conv.AssigneeID != nil && *to == *conv.AssigneeID) {
		return nil
	}
	const q = `UPDATE conversations SET assignee_id = ?, updated_at = ? WHERE id = ?`
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), to, ms(at), conv.ID); err != nil {
		return err
	}
	if err := assignedSends(ctx, tx, conv.ID, to, at); err != nil {
		return err
	}
	actorType, actorID := conversations.ActorSystem, (*parley.ID)(nil)
	if actor != nil {
		actorType, actorID = conversations.ActorUser, &actor.ID
	}
	data := map[string]any{"from": conv.AssigneeID, "to": to, "reason": reason}
	for k, v := range detail {
		data[k] = v
	}
	if err := insertEvent(ctx, tx, conv.AccountID, conv.ID, conversations.EventAssigneeChanged, actorType, actorID, data, at); err != nil {
		return err
	}
	if to == nil || (actorID != nil && *actorID == *to) {
		return nil
	}
	return notify(ctx, tx, conversations.Notification{AccountID: conv.AccountID, UserID: *to, Kind: conversations.NotifyAssigned,
		ConversationID: conv.ID, ActorID: actorID, CreatedAt: at})
}

// SetPriority sets a conversation's priority.
func (db *DB) SetPriority(ctx context.Context, p conversations.PriorityChange) (conversations.Conversation, error) {
	var out conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockToAct(ctx, tx, p.AccountID, p.ConversationID, p.Actor)
		if err != nil {
			return err
		}
		if conv.Priority != p.Priority {
			const q = `UPDATE conversations SET priority = ?, updated_at = ? WHERE id = ?`
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), string(p.Priority), ms(p.At), conv.ID); err != nil {
				return err
			}
			if err := userEvent(ctx, tx, conv, conversations.EventPriorityChanged, p.Actor,
				map[string]any{"from": conv.Priority, "to": p.Priority}, p.At); err != nil {
				return err
			}
		}
		out, err = getConversation(ctx, tx, p.AccountID, conv.ID)
		return err
	})
	return out, err
}

// QueueReply stores a staff reply and queues it for the carrier.
func (db *DB) QueueReply(ctx context.Context, r conversations.Reply) (conversations.Message, error) {
	var out conversations.Message
	err := db.inTx(ctx, func(tx *Tx) error {
		// The reply may assign the conversation to its author.
		if err := db.lockActiveSender(ctx, tx, r.AccountID, r.Author.ID); err != nil {
			return err
		}
		conv, err := db.lockForAction(ctx, tx, r.AccountID, r.ConversationID)
		if err != nil {
			return err
		}
		if err := conversations.CheckSend(r.Author, conv); err != nil {
			return err
		}
		if conv.OptedOut {
			return parley.Conflict("contact_opted_out", "%s has opted out of texts from this account", conv.ContactPhone)
		}
		if !conversations.Textable(conv.ContactPhone) {
			return parley.Conflict("contact_not_textable", "%s is a short code or sender ID: it sends texts, but cannot receive them from a number", conv.ContactPhone)
		}
		if err := requireConnected(ctx, tx, conv.ChannelID); err != nil {
			return err
		}
		if conv.AssigneeID == nil {
			if err := setAssignee(ctx, tx, conv, &r.Author.ID, &r.Author, "replied", r.At); err != nil {
				return err
			}
		}
		if conv.Status == conversations.StatusNew {
			if err := db.openOnReply(ctx, tx, conv, r); err != nil {
				return err
			}
		}
		out, err = enqueueText(ctx, tx, outboundDraft{AccountID: r.AccountID, ConversationID: conv.ID, ChannelID: conv.ChannelID,
			To: conv.ContactPhone, Body: r.Body, MediaURLs: r.MediaURLs, AuthorID: &r.Author.ID, Purpose: campaigns.PurposeReply,
			Segments: r.Segmentation.Segments, Encoding: r.Segmentation.Encoding}, r.At)
		return err
	})
	return out, err
}

// lockActiveSender holds a sender who may be assigned what they text
// (lockUser) and refuses one deactivated since they authenticated.
func (db *DB) lockActiveSender(ctx context.Context, tx *Tx, accountID, userID parley.ID) error {
	u, err := db.lockUser(ctx, tx, accountID, userID)
	if err != nil {
		return err
	}
	return u.CheckActive()
}

func (db *DB) openOnReply(ctx context.Context, tx *Tx, conv conversations.Conversation, r conversations.Reply) error {
	const q = `UPDATE conversations SET status = 'open', updated_at = ? WHERE id = ?`
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), ms(r.At), conv.ID); err != nil {
		return err
	}
	return userEvent(ctx, tx, conv, conversations.EventStatusChanged, r.Author,
		map[string]any{"from": conv.Status, "to": conversations.StatusOpen, "reason": "replied"}, r.At)
}

// AddNote stores an internal note in the thread; it is never sent.
func (db *DB) AddNote(ctx context.Context, n conversations.Note) (conversations.Message, error) {
	var out conversations.Message
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockToAct(ctx, tx, n.AccountID, n.ConversationID, n.Author)
		if err != nil {
			return err
		}
		const q = `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls, status,
    author_id, created_at, updated_at)
VALUES (?, ?, ?, 'outbound', 'note', ?, '[]', '', ?, ?, ?) RETURNING id`
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), n.AccountID, conv.ID, conv.ChannelID, n.Body, n.Author.ID, ms(n.At), ms(n.At)); err != nil {
			return err
		}
		out, err = getMessage(ctx, tx, n.AccountID, parley.ID(id))
		tx.recordMessage(events.NoteCreated, out, conversations.ActorUser, &n.Author.ID, n.At)
		return err
	})
	return out, err
}

type eventRow struct {
	ID             int64  `db:"id"`
	AccountID      int64  `db:"account_id"`
	ConversationID int64  `db:"conversation_id"`
	Type           string `db:"type"`
	ActorType      string `db:"actor_type"`
	ActorID        *int64 `db:"actor_id"`
	Data           string `db:"data"`
	CreatedAt      int64  `db:"created_at"`
}

// ListEvents lists a conversation's activity log, oldest first.
func (db *DB) ListEvents(ctx context.Context, accountID, conversationID parley.ID, page conversations.Page) ([]conversations.Event, string, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, "", err
	}
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []eventRow
	q := `SELECT ` + activityColumns + ` FROM conversation_events
WHERE account_id = ? AND conversation_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID, conversationID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r eventRow) int64 { return r.ID })
	out := make([]conversations.Event, len(rows))
	for i, r := range rows {
		if out[i], err = r.event(); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// WakeSnoozed opens conversations whose snooze ended. The UPDATE claims
// the rows: on PostgreSQL a second instance running the same statement
// waits on the row locks, re-checks status = 'snoozed' and skips them, so
// each conversation is woken, and logged, once.
func (db *DB) WakeSnoozed(ctx context.Context, now time.Time) ([]conversations.Conversation, error) {
	var out []conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		var woken []struct {
			ID        int64 `db:"id"`
			AccountID int64 `db:"account_id"`
		}
		const q = `UPDATE conversations SET status = 'open', snoozed_until = NULL, updated_at = ?
WHERE status = 'snoozed' AND snoozed_until <= ? RETURNING id, account_id`
		if err := tx.SelectContext(ctx, &woken, tx.Rebind(q), ms(now), ms(now)); err != nil {
			return err
		}
		out = out[:0]
		for _, w := range woken {
			data := map[string]any{"from": conversations.StatusSnoozed, "to": conversations.StatusOpen, "reason": "snooze_ended"}
			if err := insertEvent(ctx, tx, parley.ID(w.AccountID), parley.ID(w.ID), conversations.EventStatusChanged,
				conversations.ActorSystem, nil, data, now); err != nil {
				return err
			}
			c, err := getConversation(ctx, tx, parley.ID(w.AccountID), parley.ID(w.ID))
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
