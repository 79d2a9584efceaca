package campaigns

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/optout"
)

// Outbox purposes. Replies go before bulk traffic; an opt-out confirmation
// is the one text that may reach a phone that has opted out.
const (
	PurposeReply              = "reply"
	PurposeAutoReply          = "auto_reply"
	PurposeOptOutConfirmation = "opt_out_confirmation"
)

// KeywordReplyPurpose is the outbox purpose of the reply to a consent
// keyword: a STOP's confirmation must reach the phone that just opted out.
func KeywordReplyPurpose(i optout.Intent) string {
	if i == optout.IntentOptOut {
		return PurposeOptOutConfirmation
	}
	return PurposeAutoReply
}

// OutboxItem is one claimed outbound text with what is needed to send it.
type OutboxItem struct {
	ID        parley.ID
	AccountID parley.ID
	MessageID parley.ID
	Purpose   string
	Attempts  int
	Text      OutboundText
	// ChannelID and ChannelMPS pace sends per sender (Throttle).
	ChannelID  parley.ID
	ChannelMPS float64
	// CampaignID and CampaignRate pace a campaign's texts at send time,
	// so a backlog never goes out faster than the campaign's rate.
	CampaignID   parley.ID
	CampaignRate float64
	// ChannelDisconnected reports that the channel was disconnected since
	// the text was queued: a reclaimed text the carrier does not have is
	// then failed, never sent.
	ChannelDisconnected bool

	// LeasedAt and LeaseUntil are this claim's time and the end of its
	// lease: past LeaseUntil another worker may take the item.
	LeasedAt, LeaseUntil time.Time

	// Reclaimed reports that an earlier attempt may have reached the
	// carrier without Parley learning its outcome: the item's lease
	// expired while it was being sent (the sender crashed or hung), or a
	// send got no answer. Such an item is looked up at the carrier before
	// it is sent again, never resent on a guess.
	Reclaimed bool
	// ClaimedAt is when that earlier, unresolved attempt started; zero
	// unless Reclaimed. A text it handed to the carrier was created there
	// at or after ClaimedAt (give or take the clocks' skew).
	ClaimedAt time.Time
}

// ExemptFromConsent reports whether the text may be sent to a phone that
// opted out: only the confirmation of that very opt-out.
func (i OutboxItem) ExemptFromConsent() bool { return i.Purpose == PurposeOptOutConfirmation }

// Hold is why a claimed item is not sent after all; HoldNone sends it.
type Hold string

// Holds.
const (
	HoldNone              Hold = ""
	HoldOptedOut          Hold = "opted_out"
	HoldCampaignCancelled Hold = "campaign_cancelled"
	// HoldChannelDisconnected: a reclaimed text of a disconnected channel
	// the carrier never got.
	HoldChannelDisconnected Hold = "channel_disconnected"
)

// Sent is a carrier's acceptance of an item.
type Sent struct {
	CarrierMessageID string
	Status           string // Parley message status: sending or later
	Segments         int
	// ErrorCode is the carrier's code when it already failed the text
	// (found by reconciliation); 0 when none.
	ErrorCode int
	// Unsubscribed: the carrier failed the text because the recipient
	// opted out at the carrier; the phone is then recorded as opted out,
	// as MarkFailed does for a refused send.
	Unsubscribed bool
}

// OutboxStore is the durable outbox.
type OutboxStore interface {
	// ClaimOutbox leases up to limit due items to this worker until
	// now+lease. A claimed item is invisible to other workers until its
	// lease expires. An item claimed again because its lease expired
	// comes back Reclaimed, with ClaimedAt the start of the claim that
	// expired.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)
	// RenewLease extends this claim's lease to until, false when the claim
	// is no longer the item's (its lease expired and another worker took
	// it, or its outcome was recorded).
	RenewLease(ctx context.Context, item OutboxItem, until time.Time) (bool, error)
	// Holds says, for each item, whether it must not be sent after all,
	// checked the moment before it is: the phone opted out, or its
	// campaign was cancelled.
	Holds(ctx context.Context, items []OutboxItem) ([]Hold, error)
	// MarkSent records the carrier's acceptance and removes the item. A
	// text the carrier already failed keeps its ErrorCode, and one it
	// failed as Unsubscribed records the opt-out, as MarkFailed does. It
	// returns ECONFLICT when the carrier id is already another message's
	// in the channel.
	MarkSent(ctx context.Context, item OutboxItem, s Sent, at time.Time) error
	// MarkRetry releases the item for another attempt at retryAt. A
	// Reclaimed item stays unresolved: its next claim is Reclaimed again,
	// with the item's ClaimedAt.
	MarkRetry(ctx context.Context, item OutboxItem, retryAt time.Time, reason string, at time.Time) error
	// BookTurn books the channel's next turn to send at mps texts a second
	// if it comes by now+within, for every instance sharing the channel:
	// booked, at is the turn; not booked, at is when the next turn comes.
	BookTurn(ctx context.Context, channelID parley.ID, mps float64, now time.Time, within time.Duration) (at time.Time, booked bool, err error)
	// Defer puts the item back until a later turn without counting an
	// attempt; a Reclaimed item stays unresolved, as with MarkRetry.
	Defer(ctx context.Context, item OutboxItem, until time.Time, at time.Time) error
	// MarkFailed fails the item's message with the carrier code. When
	// unsubscribed is true the phone is recorded as opted out too.
	MarkFailed(ctx context.Context, item OutboxItem, code int, reason string, unsubscribed bool, at time.Time) error
	// MarkSkipped drops the item without sending for the hold's reason:
	// its message fails (opted out: with code 21610; channel
	// disconnected: with reason channel_disconnected) and a campaign
	// recipient becomes skipped_opted_out or cancelled.
	MarkSkipped(ctx context.Context, item OutboxItem, hold Hold, at time.Time) error
}

// SendOrigin is the outbound report's origin type of a text queued with
// purpose (API.md, "Reports and exports"): quick messages and campaign
// texts (whose purpose is the campaign's origin type) originate with the
// business; replies, keyword answers and confirmations do not (ok false).
func SendOrigin(purpose string) (originType string, ok bool) {
	if purpose == PurposeQuickMessage || OriginTypes[purpose] {
		return purpose, true
	}
	return "", false
}
