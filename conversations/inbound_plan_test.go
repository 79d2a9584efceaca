package conversations_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

var inboundAt = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func inboundPlan(intent optout.Intent, reply string) conversations.IngestPlan {
	return conversations.IngestPlan{Channel: conversations.Channel{ID: 3, AccountID: 7},
		Text: conversations.InboundText{From: "+15550001111", Body: "hi"}, At: inboundAt,
		Intent: intent, Keyword: "KW", Reply: reply}
}

func idp(id parley.ID) *parley.ID { return &id }

func TestInboundEvents(t *testing.T) {
	contact := idp(5)
	tests := []struct {
		name    string
		target  conversations.InboundTarget
		t       conversations.InboundTransition
		suspect bool
		want    []conversations.Event
	}{
		{"first text creates", conversations.InboundTarget{ConversationID: 9, ContactID: 5},
			conversations.InboundTransition{Status: conversations.StatusNew, Changed: true}, false,
			[]conversations.Event{{AccountID: 7, ConversationID: 9, Type: conversations.EventCreated, ActorType: conversations.ActorContact,
				ActorID: contact, Data: map[string]any{"status": conversations.StatusNew}, CreatedAt: inboundAt}}},
		{"reopens a resolved one", conversations.InboundTarget{ConversationID: 9, Status: conversations.StatusResolved, Existed: true, ContactID: 5},
			conversations.InboundTransition{Status: conversations.StatusOpen, Changed: true}, false,
			[]conversations.Event{{AccountID: 7, ConversationID: 9, Type: conversations.EventStatusChanged, ActorType: conversations.ActorContact,
				ActorID: contact, Data: map[string]any{"from": conversations.StatusResolved, "to": conversations.StatusOpen, "reason": "inbound"},
				CreatedAt: inboundAt}}},
		{"an open one stays", conversations.InboundTarget{ConversationID: 9, Status: conversations.StatusOpen, Existed: true, ContactID: 5},
			conversations.InboundTransition{Status: conversations.StatusOpen}, false, nil},
		{"reopening a closed one clears its assignee",
			conversations.InboundTarget{ConversationID: 9, Status: conversations.StatusClosed, AssigneeID: idp(4), Existed: true, ContactID: 5},
			conversations.InboundTransition{Status: conversations.StatusNew, ClearAssignee: true, Changed: true}, false,
			[]conversations.Event{
				{AccountID: 7, ConversationID: 9, Type: conversations.EventStatusChanged, ActorType: conversations.ActorContact,
					ActorID: contact, Data: map[string]any{"from": conversations.StatusClosed, "to": conversations.StatusNew, "reason": "inbound"},
					CreatedAt: inboundAt},
				{AccountID: 7, ConversationID: 9, Type: conversations.EventAssigneeChanged, ActorType: conversations.ActorSystem,
					Data: map[string]any{"from": parley.ID(4), "to": nil, "reason": "reopened_after_close"}, CreatedAt: inboundAt}}},
		{"a suspected revocation is flagged", conversations.InboundTarget{ConversationID: 9, Status: conversations.StatusOpen, Existed: true, ContactID: 5},
			conversations.InboundTransition{Status: conversations.StatusOpen}, true,
			[]conversations.Event{{AccountID: 7, ConversationID: 9, Type: conversations.EventRevocationFlagged, ActorType: conversations.ActorContact,
				ActorID: contact, Data: map[string]any{"reason": "text reads like a request to stop texting", "rule": "negated-want",
					"why": `Says "don't want any more texts"`}, CreatedAt: inboundAt}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := inboundPlan(optout.IntentNone, "")
			p.RevocationSuspected = tt.suspect
			if tt.suspect {
				p.RevocationRule, p.RevocationReason = "negated-want", `Says "don't want any more texts"`
			}
			if got := p.Events(tt.target, tt.t); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Events =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestInboundNotification(t *testing.T) {
	p := inboundPlan(optout.IntentNone, "")
	assigned := conversations.InboundTarget{ConversationID: 9, Status: conversations.StatusOpen, AssigneeID: idp(4), Existed: true}
	n, ok := p.Notification(assigned, conversations.InboundTransition{Status: conversations.StatusOpen}, 11)
	want := conversations.Notification{AccountID: 7, UserID: 4, Kind: conversations.NotifyInbound, ConversationID: 9,
		MessageID: idp(11), CreatedAt: inboundAt}
	if !ok || !reflect.DeepEqual(n, want) {
		t.Errorf("assigned: Notification = %+v, %v; want %+v, true", n, ok, want)
	}
	if _, ok := p.Notification(assigned, conversations.InboundTransition{Status: conversations.StatusNew, ClearAssignee: true, Changed: true}, 11); ok {
		t.Error("the text took the conversation from its assignee, who was notified")
	}
	if _, ok := p.Notification(conversations.InboundTarget{ConversationID: 9}, conversations.InboundTransition{Status: conversations.StatusNew}, 11); ok {
		t.Error("a conversation without an assignee notified someone")
	}
}

func TestKeywordConsentAndEvent(t *testing.T) {
	tests := []struct {
		intent  optout.Intent
		action  optout.Action
		event   conversations.EventType
		changed bool
		data    map[string]any
	}{
		{optout.IntentOptOut, optout.ActionOptOut, conversations.EventOptedOut, true, map[string]any{"keyword": "KW", "changed": true}},
		{optout.IntentOptOut, optout.ActionOptOut, conversations.EventOptedOut, false, map[string]any{"keyword": "KW", "changed": false}},
		{optout.IntentOptIn, optout.ActionOptIn, conversations.EventOptedIn, true, map[string]any{"keyword": "KW", "changed": true}},
		{optout.IntentHelp, "", conversations.EventHelpRequested, false, map[string]any{"keyword": "KW"}},
		{optout.IntentNone, "", "", false, nil},
	}
	for _, tt := range tests {
		p := inboundPlan(tt.intent, "")
		action, ok := p.ConsentAction()
		if action != tt.action || ok != (tt.action != "") {
			t.Errorf("%s: ConsentAction = %q, %v; want %q", tt.intent, action, ok, tt.action)
		}
		e, ok := p.KeywordEvent(9, tt.changed)
		if ok != (tt.event != "") {
			t.Errorf("%s: KeywordEvent ok = %v", tt.intent, ok)
			continue
		}
		want := conversations.Event{}
		if ok {
			want = conversations.Event{AccountID: 7, ConversationID: 9, Type: tt.event, ActorType: conversations.ActorContact,
				Data: tt.data, CreatedAt: inboundAt}
		}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("%s: KeywordEvent = %+v, want %+v", tt.intent, e, want)
		}
	}
}

func TestReplyDue(t *testing.T) {
	tests := []struct {
		intent  optout.Intent
		reply   string
		changed bool
		want    bool
	}{
		{optout.IntentHelp, "help text", false, true},
		{optout.IntentOptOut, "bye", true, true},
		{optout.IntentOptOut, "bye", false, false}, // a repeated STOP
		{optout.IntentOptIn, "welcome back", true, true},
		{optout.IntentOptIn, "welcome back", false, false},
		{optout.IntentHelp, "", false, false}, // the carrier answers, or no text set
		{optout.IntentNone, "", true, false},
	}
	for _, tt := range tests {
		if got := inboundPlan(tt.intent, tt.reply).ReplyDue(tt.changed); got != tt.want {
			t.Errorf("%s reply %q, consent changed %v: ReplyDue = %v, want %v", tt.intent, tt.reply, tt.changed, got, tt.want)
		}
	}
}
