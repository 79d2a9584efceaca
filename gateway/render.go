package gateway

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/outcomes"
)

// SubjectStore reads the subjects of events by id (the store implements
// it).
type SubjectStore interface {
	GetConversation(ctx context.Context, accountID, conversationID parley.ID) (conversations.Conversation, error)
	// GetMessage reads a message or a note.
	GetMessage(ctx context.Context, accountID, messageID parley.ID) (conversations.Message, error)
	// GetMessages and GetConversations read many by id, leaving out
	// those they do not find.
	GetMessages(ctx context.Context, accountID parley.ID, ids []parley.ID) ([]conversations.Message, error)
	GetConversations(ctx context.Context, accountID parley.ID, ids []parley.ID) ([]conversations.Conversation, error)
	// GetNotification reads a notification, whoever it is for.
	GetNotification(ctx context.Context, accountID, notificationID parley.ID) (conversations.Notification, error)
	GetCampaign(ctx context.Context, accountID, campaignID parley.ID) (campaigns.Campaign, error)
	// GetOutcome reads an outcome, deleted or not; GetSuggestion a
	// suggestion, whatever its state.
	GetOutcome(ctx context.Context, accountID, id parley.ID) (outcomes.Outcome, error)
	GetSuggestion(ctx context.Context, accountID, id parley.ID) (outcomes.Suggestion, error)
}

// renderCacheSize is how many renderings an instance keeps: a few seconds
// of a busy instance's events, so that every stream and delivery behind
// by less than that finds its rendering made.
const renderCacheSize = 8192

// NewRenderer renders events with the API's JSON: data is the subject as
// the matching GET returns it at the time of the first rendering. Each
// event is rendered once per instance (events.Cached), whoever sends it:
// streams and outbound webhooks share one renderer.
func NewRenderer(s SubjectStore) events.Renderer {
	return events.Cached(renderer{s}, renderCacheSize)
}

type renderer struct{ store SubjectStore }

func (r renderer) Render(ctx context.Context, e events.Event) (events.Rendered, error) {
	var (
		out events.Rendered
		err error
	)
	switch e.Type {
	case events.ConversationCreated, events.ConversationUpdated:
		out, err = r.conversation(ctx, e.AccountID, e.SubjectID)
	case events.MessageCreated, events.MessageUpdated, events.NoteCreated:
		out, err = r.message(ctx, e.AccountID, e.SubjectID)
	case events.CampaignUpdated:
		out, err = r.campaign(ctx, e.AccountID, e.SubjectID)
	case events.OutcomeCreated, events.OutcomeDeleted:
		out, err = r.outcome(ctx, e.AccountID, e.SubjectID)
	case events.SuggestionCreated:
		out, err = r.suggestion(ctx, e.AccountID, e.SubjectID)
	case events.NotificationCreated:
		out, err = r.notification(ctx, e.AccountID, e.SubjectID)
	default:
		// A type this version does not send (internal, or added by a
		// newer instance sharing the database): nothing to show.
		return events.Rendered{Gone: true}, nil
	}
	if parley.IsKind(err, parley.ENOTFOUND) {
		return events.Rendered{Gone: true}, nil
	}
	out.FormerAssignee = e.FormerAssignee()
	return out, err
}

func (r renderer) conversation(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	c, err := r.store.GetConversation(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	return conversationRendering(map[parley.ID]conversations.Conversation{id: c}, id)
}

// message renders a message or a note; who may see it is who may see its
// conversation now.
func (r renderer) message(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	m, err := r.store.GetMessage(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	c, err := r.store.GetConversation(ctx, accountID, m.ConversationID)
	if err != nil {
		return events.Rendered{}, err
	}
	return messageRendering(map[parley.ID]conversations.Message{id: m}, map[parley.ID]conversations.Conversation{c.ID: c}, id)
}

// outcome renders an outcome (a deleted one as it was) for whoever may
// see its conversation now.
func (r renderer) outcome(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	o, err := r.store.GetOutcome(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	return r.inConversation(ctx, accountID, o.ConversationID, toOutcomeJSON(o))
}

// suggestion renders a suggestion for whoever may see its conversation.
func (r renderer) suggestion(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	s, err := r.store.GetSuggestion(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	return r.inConversation(ctx, accountID, s.ConversationID, toSuggestionJSON(s))
}

// inConversation renders v as a subject of conversation convID.
func (r renderer) inConversation(ctx context.Context, accountID, convID parley.ID, v any) (events.Rendered, error) {
	c, err := r.store.GetConversation(ctx, accountID, convID)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := events.JSON(v)
	return events.Rendered{Data: data, InConversation: true, Assignee: c.AssigneeID}, err
}

// campaign renders a campaign for everyone of the account: GET
// /v1/campaigns/{id} needs no role either.
func (r renderer) campaign(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	c, err := r.store.GetCampaign(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := events.JSON(toCampaignJSON(c))
	return events.Rendered{Data: data}, err
}

// notification renders a notification for its recipient only.
func (r renderer) notification(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	n, err := r.store.GetNotification(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := events.JSON(toNotificationJSON(n))
	return events.Rendered{Data: data, Recipient: &n.UserID}, err
}

// RenderAll renders a batch of one account's events (a commit's worth, as
// a stream meets them) with one read of their messages and one of their
// conversations, however many there are; other subjects one by one.
func (r renderer) RenderAll(ctx context.Context, evs []events.Event) ([]events.Rendered, error) {
	out := make([]events.Rendered, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	acc := evs[0].AccountID
	var msgIDs, convIDs []parley.ID
	for _, e := range evs {
		if e.AccountID != acc {
			return nil, fmt.Errorf("render: a batch of several accounts' events")
		}
		switch e.Type {
		case events.ConversationCreated, events.ConversationUpdated:
			convIDs = append(convIDs, e.SubjectID)
		case events.MessageCreated, events.MessageUpdated, events.NoteCreated:
			msgIDs = append(msgIDs, e.SubjectID)
		}
	}
	msgs, err := r.store.GetMessages(ctx, acc, msgIDs)
	if err != nil {
		return nil, err
	}
	byMsg := make(map[parley.ID]conversations.Message, len(msgs))
	for _, m := range msgs {
		byMsg[m.ID] = m
		convIDs = append(convIDs, m.ConversationID)
	}
	convs, err := r.store.GetConversations(ctx, acc, convIDs)
	if err != nil {
		return nil, err
	}
	byConv := make(map[parley.ID]conversations.Conversation, len(convs))
	for _, c := range convs {
		byConv[c.ID] = c
	}
	for i, e := range evs {
		var err error
		switch e.Type {
		case events.ConversationCreated, events.ConversationUpdated:
			out[i], err = conversationRendering(byConv, e.SubjectID)
			out[i].FormerAssignee = e.FormerAssignee()
		case events.MessageCreated, events.MessageUpdated, events.NoteCreated:
			out[i], err = messageRendering(byMsg, byConv, e.SubjectID)
		default:
			out[i], err = r.Render(ctx, e)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func conversationRendering(byConv map[parley.ID]conversations.Conversation, id parley.ID) (events.Rendered, error) {
	c, ok := byConv[id]
	if !ok {
		return events.Rendered{Gone: true}, nil
	}
	data, err := events.JSON(toConversationJSON(c))
	return events.Rendered{Data: data, InConversation: true, Assignee: c.AssigneeID}, err
}

func messageRendering(byMsg map[parley.ID]conversations.Message, byConv map[parley.ID]conversations.Conversation, id parley.ID) (events.Rendered, error) {
	m, ok := byMsg[id]
	c, found := byConv[m.ConversationID]
	if !ok || !found {
		return events.Rendered{Gone: true}, nil
	}
	data, err := events.JSON(toMessageJSON(m))
	return events.Rendered{Data: data, InConversation: true, Assignee: c.AssigneeID}, err
}
