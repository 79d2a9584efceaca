// Package campaigns sends every outbound text: the durable outbox and its
// dispatcher, and (in later waves) quick messages, campaigns and throttles.
//
// It defines the Sender interface that each carrier adapter in gateway/
// implements, so the dispatcher never knows which carrier it talks to.
package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// OutboundText is one text handed to a carrier.
type OutboundText struct {
	MessageID parley.ID // Parley's message id, for logs and reconciliation

	// The channel's carrier, credentials, sender and settings.
	Carrier          string
	Options          map[string]string
	CarrierAccountID string
	AuthToken        string
	// WebhookSecret checks the carrier's webhooks where AuthToken does not.
	WebhookSecret       string
	From                string // E.164 business number; empty when MessagingServiceSID is set
	MessagingServiceSID string

	To        string // E.164
	Body      string
	MediaURLs []string

	// StatusCallbackURL is where the carrier posts delivery receipts.
	StatusCallbackURL string
}

// SendResult is the carrier's answer to an accepted text.
type SendResult struct {
	CarrierMessageID string
	// Status is the carrier's status in Parley's words (queued, sending,
	// sent, delivered, undelivered, failed): its first status from Send,
	// its current one from Lookup.
	Status   string
	Segments int // 0 when the carrier did not say
	// ErrorCode is the carrier's code for a text it failed (from
	// Lookup), e.g. Twilio 21610; 0 when none.
	ErrorCode int
	// Unsubscribed: it failed because the recipient opted out at the
	// carrier (Twilio 21610); the adapter knows its carrier's codes.
	Unsubscribed bool
}

// SendError is a carrier's refusal. Temporary errors (HTTP 429 and 5xx,
// network failures) may be retried; the others are final and keep the
// carrier's code (e.g. Twilio 21610, recipient unsubscribed).
type SendError struct {
	HTTPStatus int
	Code       int // carrier error code; 0 when unknown
	Message    string
	Temporary  bool
	// Unsubscribed: the carrier refused because the recipient opted out
	// with it; Parley records the opt-out.
	Unsubscribed bool
	// NotSent: the request never left (no connection, no name): the
	// carrier cannot have the text, so a retry need not look it up.
	NotSent bool
}

func (e *SendError) Error() string {
	return fmt.Sprintf("carrier refused text: http %d code %d: %s", e.HTTPStatus, e.Code, e.Message)
}

// ErrNoLookup is Lookup's answer where the carrier offers no way to find a
// text it was sent: a send interrupted before its answer then fails rather
// than risk reaching the phone twice.
var ErrNoLookup = errors.New("the carrier offers no way to look up a text it was sent")

// Sender hands texts to a carrier.
type Sender interface {
	// Send hands t to the carrier. It returns a *SendError when the carrier
	// answered with an error, or another error for transport failures
	// (which are treated as temporary). A failure with no answer at all
	// leaves it unknown whether the carrier took the text.
	Send(ctx context.Context, t OutboundText) (SendResult, error)

	// Lookup asks the carrier whether it accepted t at or after since: a
	// message to the same To, from the same From (or through the same
	// MessagingServiceSID), with the same Body. It returns the carrier's
	// id and current status of the newest such message, and false when
	// there is none. An error means the carrier could not be asked or its
	// list could not be searched to since; the answer is then unknown, and
	// the text must not be sent again on a guess.
	//
	// Body is part of the match because one number is often texted twice
	// in the window (a reply, then an auto-reply): matching on the
	// addresses alone would take the other text for this one and drop it.
	// Two texts with the same body to the same number in the window remain
	// indistinguishable; the dispatcher refuses a match that is already
	// another message's.
	Lookup(ctx context.Context, t OutboundText, since time.Time) (SendResult, bool, error)
}
