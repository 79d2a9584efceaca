package conversations

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// TextPart says which part of a longer text an inbound text is, for
// carriers that deliver a concatenated text part by part (Vonage's SMS
// API). Ref is the sender's reference, shared by the parts of one text.
type TextPart struct {
	Ref    string
	Number int // 1 to Total
	Total  int
}

// MaxTextParts bounds the parts of one text: a concatenated SMS numbers
// its parts in one byte.
const MaxTextParts = 255

// PartTTL is how long a part waits for the others: Vonage retries a
// webhook for 24 hours, so a part older than that will not be completed.
const PartTTL = 25 * time.Hour

// PartStore keeps the parts of texts until each is whole.
type PartStore interface {
	// JoinTextPart keeps text, a part of the channel's text, and returns
	// the parts received so far, in order, once every part is there
	// (nil before). A part received twice is kept once; two parts
	// arriving together are each counted.
	JoinTextPart(ctx context.Context, channelID parley.ID, text InboundText, at time.Time) ([]InboundText, error)
}

// Joined is the whole text its parts make: their bodies in order, the
// first part's carrier id (a repeated delivery of the whole is the same
// text), a segment per part.
func Joined(parts []InboundText) InboundText {
	whole := parts[0]
	whole.MediaURLs = nil
	var body strings.Builder
	for _, p := range parts {
		body.WriteString(p.Body)
		whole.MediaURLs = append(whole.MediaURLs, p.MediaURLs...)
	}
	whole.Body, whole.Segments, whole.Part = body.String(), len(parts), nil
	return whole
}

// WebhookNonce is a carrier signature's one-time value when the signature
// covers neither the body nor the query (Plivo's V2 signs the URL's path
// and the nonce): anyone who saw one request could send another body with
// its headers. Parley keeps each nonce with a digest of what it first came
// with, and refuses it with anything else.
type WebhookNonce struct {
	Carrier          string
	CarrierAccountID string
	Nonce            string
	// Content is the SHA-256 of what the signature does not cover.
	Content [32]byte
	At      time.Time
}

// WebhookNonceTTL is how long a nonce is kept. A signature captured
// earlier could carry another body after that; the webhook's HTTPS is the
// defence then, as the carrier's own documentation says.
const WebhookNonceTTL = 90 * 24 * time.Hour

// NonceStore keeps the nonces of webhooks signed without their content.
type NonceStore interface {
	// BindWebhookNonce keeps n, or checks it against the content it was
	// kept with: EFORBIDDEN when that differs. The same content again is a
	// carrier's retry, and passes.
	BindWebhookNonce(ctx context.Context, n WebhookNonce) error
}
