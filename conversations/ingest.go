package conversations

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/optout"
)

// InboundRoute is what an inbound webhook resolves to: the channel that
// owns the business number and the settings of its account.
type InboundRoute struct {
	Channel  Channel
	Settings Settings
}

// InboundText is a carrier's inbound text, already verified and normalised
// by the carrier adapter.
type InboundText struct {
	CarrierMessageID string
	From             string // E.164 contact phone
	To               string // E.164 business number
	Body             string
	MediaURLs        []string
	Segments         int
	// Part: the text is one part of a longer one, ingested once whole.
	Part *TextPart
	// CarrierIntent is what the carrier's own keyword handling took the
	// text for (Plivo's MessageIntent); it counts when the account's
	// keywords do not recognise the text themselves.
	CarrierIntent optout.Intent
}

// IngestPlan is an inbound text together with every decision that needs no
// I/O, made before the ingest transaction: its consent intent and the
// auto-reply, if any. The store applies it in one transaction.
type IngestPlan struct {
	Channel Channel
	Text    InboundText
	At      time.Time

	Intent  optout.Intent
	Keyword string
	// Language is the keyword's language; its reply is in that language.
	Language optout.Language
	// RevocationSuspected flags a text like "please stop texting me";
	// RevocationRule and RevocationReason say why.
	RevocationSuspected              bool
	RevocationRule, RevocationReason string
	// Reply is the confirmation or help text to queue, "" for none.
	// An opt-out or opt-in confirmation is only sent when the consent
	// actually changed, so a repeated STOP gets no second reply.
	Reply string
}

// KeywordOnly reports whether the text is only a consent keyword.
func (p IngestPlan) KeywordOnly() bool { return p.Intent != optout.IntentNone }

// IngestResult is what the ingest transaction did.
type IngestResult struct {
	Duplicate      bool // the carrier message id was seen before; nothing changed
	Conversation   Conversation
	Message        Message
	Created        bool // the conversation was created by this text
	Transition     InboundTransition
	ConsentChanged bool
	Reply          *Message // the queued auto-reply
	// Waiting: the text was a part of a longer one, kept until the rest
	// arrives; nothing else changed.
	Waiting bool
}

// NeedsAssignment reports whether the text left the conversation new or
// open without an assignee. Auto-assignment itself reacts to the logged
// conversation events (routing.ReactionTo); this says the same of one
// result, for the store's tests.
func (r IngestResult) NeedsAssignment() bool {
	c := r.Conversation
	return !r.Duplicate && r.Transition.Changed && c.AssigneeID == nil &&
		(c.Status == StatusNew || c.Status == StatusOpen)
}

// Plan decides everything about an inbound text that needs no I/O.
func Plan(route InboundRoute, text InboundText, at time.Time) IngestPlan {
	if text.To == "" {
		// The carrier named the channel, not the number (Bird's channel
		// id): the text went to the channel's number.
		text.To = route.Channel.PhoneNumber
	}
	p := IngestPlan{Channel: route.Channel, Text: text, At: at}
	hit := optout.MatcherFor(route.Settings.KeywordPacks()...).Lookup(text.Body)
	p.Intent, p.Keyword, p.Language = hit.Intent, hit.Keyword, hit.Language
	if p.Intent == optout.IntentNone && text.CarrierIntent != optout.IntentNone {
		// The carrier has already acted on it (a carrier that blocks
		// after an opt-out keyword blocks whatever Parley thinks).
		p.Intent, p.Keyword = text.CarrierIntent, carrierKeyword(text.Body)
	}
	if p.Intent == optout.IntentNone && strings.TrimSpace(text.Body) != "" {
		if r, ok := optout.RecogniseRevocation(text.Body); ok {
			p.RevocationSuspected, p.RevocationRule, p.RevocationReason = true, r.Rule, r.Reason
		}
	}
	// A sender ID cannot be answered: no keyword reply to queue.
	if !route.Channel.CarrierHandlesOptOut && Textable(text.From) {
		p.Reply = route.Settings.Reply(p.Intent, p.Language)
	}
	return p
}

// carrierKeyword is how the register names a keyword the carrier
// recognised: the text as sent, trimmed and upper-cased as keywords are,
// and cut to a keyword's length.
func carrierKeyword(body string) string {
	k := strings.ToUpper(strings.Join(strings.Fields(body), " "))
	if r := []rune(k); len(r) > maxCarrierKeyword {
		k = string(r[:maxCarrierKeyword]) + "…"
	}
	return k
}

// maxCarrierKeyword bounds a carrier keyword's length in the register.
const maxCarrierKeyword = 40

// IngestStore persists inbound traffic.
type IngestStore interface {
	// FindInboundRoute finds the channel for an inbound webhook: by
	// messaging service when serviceSID is set, else by business number;
	// by the carrier account alone when neither is given (a carrier whose
	// account id names one channel).
	// Returns ENOTFOUND when no channel matches.
	FindInboundRoute(ctx context.Context, carrier, carrierAccountID, to, serviceSID string) (InboundRoute, error)
	// StatusRoutes finds the connected channels of a carrier account, one
	// for each auth token they hold, to verify a status callback's
	// signature. Returns ENOTFOUND when there is none.
	StatusRoutes(ctx context.Context, carrier, carrierAccountID string) ([]Channel, error)
	// Ingest applies a plan in one transaction: upsert the contact by phone,
	// find or create the conversation, insert the message (a known carrier
	// message id is a no-op with Duplicate set), apply the state machine
	// and the consent intent, queue the reply and write every event.
	Ingest(ctx context.Context, p IngestPlan) (IngestResult, error)
	// ApplyStatus moves an outbound message's status forward; a status that
	// ranks lower than the current one is ignored. Returns ENOTFOUND when
	// no outbound message of the channel's carrier account has that id (the
	// receipt is kept for the text until its id is recorded), EFORBIDDEN
	// when u.ChannelID's token is not the one the text was sent with.
	ApplyStatus(ctx context.Context, u StatusUpdate) (Message, error)
	PartStore
	NonceStore
}

// StatusUpdate is a delivery receipt.
type StatusUpdate struct {
	// ChannelID is the channel whose credentials verified the receipt.
	ChannelID        parley.ID
	Carrier          string
	CarrierAccountID string
	CarrierMessageID string
	Status           MessageStatus
	ErrorCode        *int
	// Unsubscribed: the carrier failed the text because the recipient
	// opted out with it; the opt-out is recorded.
	Unsubscribed bool
	At           time.Time
}

// Ingester runs the inbound pipeline around the store's transaction. What
// follows a commit (a keyword reply sent, auto-assignment, live updates)
// reacts to the events the transaction wrote.
type Ingester struct {
	Store IngestStore
	Clock parley.Clock
}

// Ingest stores a verified inbound text. A part of a longer text is kept
// until the last part arrives (IngestResult.Waiting), then the whole text
// is ingested.
func (in *Ingester) Ingest(ctx context.Context, route InboundRoute, text InboundText) (IngestResult, error) {
	if text.Part != nil {
		parts, err := in.Store.JoinTextPart(ctx, route.Channel.ID, text, in.Clock.Now())
		if err != nil || parts == nil {
			return IngestResult{Waiting: err == nil}, err
		}
		text = Joined(parts)
	}
	res, err := in.Store.Ingest(ctx, Plan(route, text, in.Clock.Now()))
	if err != nil {
		return IngestResult{}, err
	}
	return res, nil
}
