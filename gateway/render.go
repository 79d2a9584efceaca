package gateway

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// SubjectStore reads the subjects of events by id (the store implements
// it).
type SubjectStore interface {
	GetConversation(ctx context.Context, accountID, conversationID parley.ID) (conversations.Conversation, error)
	// GetMessage reads a message or a note.
	GetMessage(ctx context.Context, accountID, messageID parley.ID) (conversations.Message, error)
	// GetNotification reads a notification, whoever it is for.
	GetNotification(ctx context.Context, accountID, notificationID parley.ID) (conversations.Notification, error)
	GetCampaign(ctx context.Context, accountID, campaignID parley.ID) (campaigns.Campaign, error)
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
	return out, err
}

func (r renderer) conversation(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	c, err := r.store.GetConversation(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := json.Marshal(toConversationJSON(c))
	return events.Rendered{Data: data, InConversation: true, Assignee: c.AssigneeID}, err
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
	data, err := json.Marshal(toMessageJSON(m))
	return events.Rendered{Data: data, InConversation: true, Assignee: c.AssigneeID}, err
}

// campaign renders a campaign for everyone of the account: GET
// /v1/campaigns/{id} needs no role either.
func (r renderer) campaign(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	c, err := r.store.GetCampaign(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := json.Marshal(toCampaignJSON(c))
	return events.Rendered{Data: data}, err
}

// notification renders a notification for its recipient only.
func (r renderer) notification(ctx context.Context, accountID, id parley.ID) (events.Rendered, error) {
	n, err := r.store.GetNotification(ctx, accountID, id)
	if err != nil {
		return events.Rendered{}, err
	}
	data, err := json.Marshal(toNotificationJSON(n))
	return events.Rendered{Data: data, Recipient: &n.UserID}, err
}
