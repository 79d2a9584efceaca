package conversations

import (
	"time"

	"github.com/parleyhq/parley"
)

// NotificationKind says why a user is notified.
type NotificationKind string

// Notification kinds.
const (
	// NotifyAssigned: a conversation was assigned to the user.
	NotifyAssigned NotificationKind = "conversation_assigned"
	// NotifyInbound: a new text arrived in a conversation the user owns.
	NotifyInbound NotificationKind = "inbound_message"
	// NotifyWebhookDisabled: Parley disabled a webhook endpoint of the
	// account (it answered 410, or failed for days); admins are told.
	NotifyWebhookDisabled NotificationKind = "webhook_endpoint_disabled"
	// NotifyOutcomeSuggested: Parley suggested an outcome on a
	// conversation the user owns (outcomes.Suggestion).
	NotifyOutcomeSuggested NotificationKind = "outcome_suggested"
	// NotifyRevocationUnanswered: a text that reads like a request to stop
	// texting has waited a day without an answer (RevocationFlag).
	NotifyRevocationUnanswered NotificationKind = "revocation_unanswered"
)

// Notification tells one user about one thing that needs them. It is a
// row written in the same transaction as its cause, so a live stream (SSE)
// can later deliver rows as they are committed without changing the model.
type Notification struct {
	ID        parley.ID
	AccountID parley.ID
	UserID    parley.ID
	Kind      NotificationKind
	// ConversationID is zero for a notification about no conversation.
	ConversationID parley.ID
	MessageID      *parley.ID
	// WebhookEndpointID is the endpoint a webhook_endpoint_disabled
	// notification is about.
	WebhookEndpointID *parley.ID
	ActorID           *parley.ID // who caused it; nil for the contact or the system
	ReadAt            *time.Time
	CreatedAt         time.Time
}
