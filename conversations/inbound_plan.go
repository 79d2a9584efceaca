package conversations

import (
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/optout"
)

// InboundTarget is the conversation an inbound text lands in, as the ingest
// transaction found it before the text: the plan's decisions that depend
// on stored state read it, and the store writes what they return.
type InboundTarget struct {
	ConversationID parley.ID
	Status         Status // before the text; "" when the text creates it
	AssigneeID     *parley.ID
	Existed        bool
	ContactID      parley.ID
}

// Events lists the activity-log entries an inbound text writes besides its
// consent keyword's: the conversation's creation or change of status, an
// assignee cleared on reopening, a suspected revocation.
func (p IngestPlan) Events(c InboundTarget, t InboundTransition) []Event {
	contact := &c.ContactID
	var events []Event
	if !c.Existed {
		events = append(events, p.event(c.ConversationID, EventCreated, ActorContact, contact,
			map[string]any{"status": t.Status}))
	} else if t.Changed {
		events = append(events, p.event(c.ConversationID, EventStatusChanged, ActorContact, contact,
			map[string]any{"from": c.Status, "to": t.Status, "reason": "inbound"}))
	}
	if t.ClearAssignee && c.AssigneeID != nil {
		events = append(events, p.event(c.ConversationID, EventAssigneeChanged, ActorSystem, nil,
			map[string]any{"from": *c.AssigneeID, "to": nil, "reason": "reopened_after_close"}))
	}
	if p.RevocationSuspected {
		events = append(events, p.event(c.ConversationID, EventRevocationFlagged, ActorContact, contact,
			map[string]any{"reason": "text reads like a request to stop texting", "rule": p.RevocationRule, "why": p.RevocationReason}))
	}
	return events
}

// Notification tells the conversation's assignee of the text, unless the
// text took the conversation from them.
func (p IngestPlan) Notification(c InboundTarget, t InboundTransition, messageID parley.ID) (Notification, bool) {
	if c.AssigneeID == nil || t.ClearAssignee {
		return Notification{}, false
	}
	return Notification{AccountID: p.Channel.AccountID, UserID: *c.AssigneeID, Kind: NotifyInbound,
		ConversationID: c.ConversationID, MessageID: &messageID, CreatedAt: p.At}, true
}

// ConsentAction is the change to the consent register the text's keyword
// asks for; false for HELP and for a text that is no keyword.
func (p IngestPlan) ConsentAction() (optout.Action, bool) {
	switch p.Intent {
	case optout.IntentOptOut:
		return optout.ActionOptOut, true
	case optout.IntentOptIn:
		return optout.ActionOptIn, true
	}
	return "", false
}

// KeywordEvent is the activity-log entry of the text's consent keyword and
// its language ("en", "es"), saying for STOP and START whether the consent
// changed; false for a text that is no keyword.
func (p IngestPlan) KeywordEvent(conversationID parley.ID, consentChanged bool) (Event, bool) {
	keyword := map[string]any{"keyword": p.Keyword}
	if p.Language != "" {
		keyword["language"] = string(p.Language)
	}
	switch p.Intent {
	case optout.IntentHelp:
		return p.event(conversationID, EventHelpRequested, ActorContact, nil, keyword), true
	case optout.IntentOptOut:
		keyword["changed"] = consentChanged
		return p.event(conversationID, EventOptedOut, ActorContact, nil, keyword), true
	case optout.IntentOptIn:
		keyword["changed"] = consentChanged
		return p.event(conversationID, EventOptedIn, ActorContact, nil, keyword), true
	}
	return Event{}, false
}

// ReplyDue reports whether the plan's reply is queued: help always, a
// consent confirmation only when the consent changed, so a repeated STOP
// gets no second reply.
func (p IngestPlan) ReplyDue(consentChanged bool) bool {
	if p.Reply == "" {
		return false
	}
	switch p.Intent {
	case optout.IntentHelp:
		return true
	case optout.IntentOptIn, optout.IntentOptOut:
		return consentChanged
	}
	return false
}

func (p IngestPlan) event(conversationID parley.ID, typ EventType, actor ActorType, actorID *parley.ID, data map[string]any) Event {
	return Event{AccountID: p.Channel.AccountID, ConversationID: conversationID, Type: typ, ActorType: actor,
		ActorID: actorID, Data: data, CreatedAt: p.At}
}
