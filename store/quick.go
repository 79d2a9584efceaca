package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// QueueQuickMessage queues a quick message to every recipient in one
// transaction: all of it is durable before the sender hears "accepted".
func (db *DB) QueueQuickMessage(ctx context.Context, q campaigns.QuickMessage, phones []string) (campaigns.QuickResult, error) {
	tpl, err := campaigns.ParseTemplate(q.Body)
	if err != nil {
		return campaigns.QuickResult{}, err
	}
	var res campaigns.QuickResult
	err = db.inTx(ctx, func(tx *Tx) error {
		res = campaigns.QuickResult{}
		// The texts may assign conversations to the sender.
		if err := db.lockActiveSender(ctx, tx, q.AccountID, q.Sender.ID); err != nil {
			return err
		}
		var row channelRow
		err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+channelColumns+` FROM channels WHERE account_id = ? AND id = ?`), q.AccountID, q.ChannelID)
		if parley.IsKind(translate(err), parley.ENOTFOUND) {
			return parley.Invalid(map[string]string{"channel_id": "no such channel"})
		} else if err != nil {
			return err
		}
		ch := row.channel()
		if !ch.Connected() {
			return conversations.ChannelDisconnected()
		}
		all, skipped, err := db.contactRecipients(ctx, tx, q, phones)
		if err != nil {
			return err
		}
		res.Skipped = skipped
		for _, phone := range all {
			sent, skip, err := db.quickTo(ctx, tx, ch, q, tpl, phone)
			if err != nil {
				return fmt.Errorf("quick message to %s: %w", phone, err)
			}
			if skip != "" {
				res.Skipped = append(res.Skipped, campaigns.QuickSkip{To: phone, Reason: skip})
				continue
			}
			res.Messages = append(res.Messages, sent)
		}
		return nil
	})
	return res, err
}

// contactRecipients adds the first phone each contact id can be texted at
// to phones (not a short code or sender ID it texted from), keeping the
// order and dropping repeats.
func (db *DB) contactRecipients(ctx context.Context, tx *Tx, q campaigns.QuickMessage, phones []string) ([]string, []campaigns.QuickSkip, error) {
	seen := map[string]bool{}
	for _, p := range phones {
		seen[p] = true
	}
	var skipped []campaigns.QuickSkip
	for _, id := range q.ContactIDs {
		var one int
		err := tx.GetContext(ctx, &one, tx.Rebind(`SELECT 1 FROM contacts WHERE account_id = ? AND id = ?`), q.AccountID, id)
		if parley.IsKind(translate(err), parley.ENOTFOUND) {
			return nil, nil, parley.Invalid(map[string]string{"contact_ids": fmt.Sprintf("no contact %s", id)})
		} else if err != nil {
			return nil, nil, err
		}
		byContact, err := db.contactPhones(ctx, tx, []int64{int64(id)})
		if err != nil {
			return nil, nil, err
		}
		i := slices.IndexFunc(byContact[int64(id)], conversations.Textable)
		if i < 0 {
			skipped = append(skipped, campaigns.QuickSkip{To: "contact:" + id.String(), Reason: campaigns.SkipNoPhone})
			continue
		}
		if p := byContact[int64(id)][i]; !seen[p] {
			seen[p] = true
			phones = append(phones, p)
		}
	}
	return phones, skipped, nil
}

// quickTo queues the text to one phone, rendered for the phone's
// contact, or says why it is skipped.
func (db *DB) quickTo(ctx context.Context, tx *Tx, ch conversations.Channel, q campaigns.QuickMessage, tpl campaigns.Template,
	phone string) (campaigns.QuickSent, string, error) {
	var optedOut []bool
	if err := tx.SelectContext(ctx, &optedOut, tx.Rebind(`SELECT opted_out FROM consents WHERE account_id = ? AND phone = ?`), q.AccountID, phone); err != nil {
		return campaigns.QuickSent{}, "", err
	}
	if len(optedOut) == 1 && optedOut[0] {
		return campaigns.QuickSent{}, campaigns.SkipOptedOut, nil
	}
	conv, err := db.quickConversation(ctx, tx, ch, q, phone)
	if err != nil {
		return campaigns.QuickSent{}, "", err
	}
	if why := conversations.SendRefusal(q.Sender, conv); why != "" {
		return campaigns.QuickSent{}, why, nil
	}
	if conv.AssigneeID == nil {
		if err := setAssignee(ctx, tx, conv, &q.Sender.ID, &q.Sender, "quick_message", q.At); err != nil {
			return campaigns.QuickSent{}, "", err
		}
	}
	// The phone has its contact by now: found, or created with the thread.
	contacts, err := selectContacts(ctx, tx, q.AccountID, []string{phone})
	if err != nil {
		return campaigns.QuickSent{}, "", err
	}
	body, seg := tpl.Text(contacts[phone].recipient(phone))
	m, err := enqueueText(ctx, tx, outboundDraft{AccountID: q.AccountID, ConversationID: conv.ID, ChannelID: ch.ID, To: phone,
		Body: body, AuthorID: &q.Sender.ID, Purpose: campaigns.PurposeQuickMessage,
		Segments: seg.Segments, Encoding: seg.Encoding}, q.At)
	if err != nil {
		return campaigns.QuickSent{}, "", err
	}
	return campaigns.QuickSent{To: phone, ConversationID: conv.ID, MessageID: m.ID}, "", nil
}

// quickConversation finds the phone's conversation on the channel or
// creates it pending (waiting for the customer), assigned to the sender.
func (db *DB) quickConversation(ctx context.Context, tx *Tx, ch conversations.Channel, q campaigns.QuickMessage, phone string) (conversations.Conversation, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM conversations WHERE channel_id = ? AND contact_phone = ?`), ch.ID, phone)
	if err == nil {
		return db.lockForAction(ctx, tx, q.AccountID, parley.ID(id))
	}
	if !parley.IsKind(translate(err), parley.ENOTFOUND) {
		return conversations.Conversation{}, err
	}
	contactID, err := findOrCreateContact(ctx, tx, q.AccountID, phone, q.At)
	if err != nil {
		return conversations.Conversation{}, err
	}
	convID, created, err := insertOutboundConversation(ctx, tx, ch, contactID, phone, &q.Sender.ID, q.At)
	if err != nil {
		return conversations.Conversation{}, err
	}
	if !created {
		return db.lockForAction(ctx, tx, q.AccountID, convID)
	}
	err = insertEvent(ctx, tx, q.AccountID, convID, conversations.EventCreated, conversations.ActorUser, &q.Sender.ID,
		map[string]any{"status": conversations.StatusPending, "reason": "quick_message", "assignee_id": q.Sender.ID}, q.At)
	if err != nil {
		return conversations.Conversation{}, err
	}
	return getConversation(ctx, tx, q.AccountID, convID)
}

// insertOutboundConversation creates the phone's conversation on the
// channel, pending (waiting for the customer). When a concurrent text to
// the same phone created it first, it returns that conversation, committed,
// with created false: both texts then go to the one thread.
func insertOutboundConversation(ctx context.Context, tx *Tx, ch conversations.Channel, contactID parley.ID, phone string,
	assignee *parley.ID, at time.Time) (id parley.ID, created bool, err error) {
	id, err = insertThreadIfAbsent(ctx, tx, newThread{ch: ch, contactID: contactID, phone: phone, businessPhone: ch.PhoneNumber,
		status: conversations.StatusPending, assignee: assignee, at: at})
	if err != nil || id != 0 {
		return id, true, err
	}
	var existing int64
	err = tx.GetContext(ctx, &existing, tx.Rebind(`SELECT id FROM conversations WHERE channel_id = ? AND contact_phone = ?`), ch.ID, phone)
	return parley.ID(existing), false, err
}
