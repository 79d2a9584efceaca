package store

import (
	"encoding/json"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// The record* helpers add the log's events for what a transaction
// changes; Tx.writeEvents writes them before the commit.

// recordConversationEvents turns activity-log entries into the log's
// conversation events: created, or updated with what changed.
func (tx *Tx) recordConversationEvents(accountID parley.ID, entries []event) {
	for _, e := range entries {
		typ := events.ConversationUpdated
		var data json.RawMessage
		if e.typ == conversations.EventCreated {
			// What it was created as: its status, its assignee if any.
			typ = events.ConversationCreated
			data, _ = json.Marshal(e.data)
		} else {
			change := map[string]any{"type": string(e.typ)}
			for k, v := range e.data {
				change[k] = v
			}
			data, _ = json.Marshal(map[string]any{"changes": []any{change}})
		}
		tx.record(events.Event{AccountID: accountID, Type: typ, ConversationID: e.conversationID, SubjectID: e.conversationID,
			ActorType: string(e.actor), ActorID: e.actorID, Data: data, At: e.at})
	}
}

// recordContactShown adds conversation.updated for threads whose contact
// changed: another contact took them, or theirs was renamed.
func (tx *Tx) recordContactShown(accountID, contactID parley.ID, threads []parley.ID, at time.Time) {
	entries := make([]event, len(threads))
	for i, id := range threads {
		entries[i] = event{id, conversations.EventContactChanged, conversations.ActorSystem, nil, map[string]any{"contact_id": contactID}, at}
	}
	tx.recordConversationEvents(accountID, entries)
}

// recordMessage adds message.created, message.updated or note.created.
// Its data says the message's direction and status, which the effects
// read (a queued outbound text wakes the dispatcher).
func (tx *Tx) recordMessage(typ events.Type, m conversations.Message, actor conversations.ActorType, actorID *parley.ID, at time.Time) {
	data, _ := json.Marshal(map[string]string{"direction": string(m.Direction), "status": string(m.Status)})
	tx.record(events.Event{AccountID: m.AccountID, Type: typ, ConversationID: m.ConversationID, SubjectID: m.ID,
		ActorType: string(actor), ActorID: actorID, Data: data, At: at})
}

// recordMessageStatus adds message.updated for a status the carrier (or
// the dispatcher) set.
func (tx *Tx) recordMessageStatus(accountID, conversationID, messageID parley.ID, status string, at time.Time) {
	data, _ := json.Marshal(map[string]string{"status": status})
	tx.record(events.Event{AccountID: accountID, Type: events.MessageUpdated, ConversationID: conversationID, SubjectID: messageID,
		ActorType: string(conversations.ActorSystem), Data: data, At: at})
}

// recordNotifications adds notification.created for stored notifications.
func (tx *Tx) recordNotifications(ns []conversations.Notification) {
	for _, n := range ns {
		data, _ := json.Marshal(map[string]any{"user_id": n.UserID, "kind": n.Kind})
		tx.record(events.Event{AccountID: n.AccountID, Type: events.NotificationCreated, ConversationID: n.ConversationID,
			SubjectID: n.ID, ActorType: string(conversations.ActorSystem), ActorID: n.ActorID, Data: data, At: n.CreatedAt})
	}
}

// recordCampaign adds campaign.updated.
func (tx *Tx) recordCampaign(accountID, campaignID parley.ID, status string, at time.Time) {
	data, _ := json.Marshal(map[string]string{"status": status})
	tx.record(events.Event{AccountID: accountID, Type: events.CampaignUpdated, SubjectID: campaignID,
		ActorType: string(conversations.ActorSystem), Data: data, At: at})
}

// recordAdmin adds an internal event (user, settings or routing changes)
// that effects react to.
func (tx *Tx) recordAdmin(accountID parley.ID, typ events.Type, subjectID parley.ID, at time.Time) {
	tx.record(events.Event{AccountID: accountID, Type: typ, SubjectID: subjectID, ActorType: string(conversations.ActorUser), At: at})
}
