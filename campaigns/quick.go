package campaigns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// PurposeQuickMessage marks a staff member's one-off text to one or more
// numbers; it is queued like a reply, ahead of bulk traffic.
const PurposeQuickMessage = "quick_message"

// Reasons a quick message skips a recipient.
const (
	SkipOptedOut      = "opted_out"      // the phone said STOP
	SkipInvalidNumber = "invalid_number" // not a phone number
	SkipNoPhone       = "no_phone"       // a contact id whose contact has no phone to text
	// The sending rule (conversations.SendRefusal) keeps the sender out of
	// the phone's conversation.
	SkipAssigned    = conversations.RefusedAssignedElsewhere
	SkipNotAssigned = conversations.RefusedNotAssigned
)

// maxQuickRecipients bounds one quick message; more is a campaign.
const maxQuickRecipients = 1000

// QuickMessage is one text a staff member sends to several numbers at once.
// Each recipient gets it in their own conversation with the channel. Its
// body is a Template, as a campaign's is: each recipient's text has the
// fields of the phone's contact filled in.
type QuickMessage struct {
	AccountID  parley.ID
	Sender     conversations.User
	ChannelID  parley.ID
	Body       string
	To         []string    // phone numbers as typed
	ContactIDs []parley.ID // contacts, texted on their first phone
	At         time.Time
}

// QuickSent is a recipient whose text was queued.
type QuickSent struct {
	To             string
	ConversationID parley.ID
	MessageID      parley.ID
}

// QuickSkip is a recipient that gets nothing, and why.
type QuickSkip struct {
	To     string
	Reason string
}

// QuickResult reports every recipient of a quick message.
type QuickResult struct {
	Messages []QuickSent
	Skipped  []QuickSkip
}

// Recipients validates the message and normalises its numbers: the valid,
// de-duplicated E.164 numbers in order, and the typed ones that are not
// numbers (skipped, not an error: one typo must not stop the rest). A
// body whose template does not parse (an unknown field) is EINVALID on
// "body", as a campaign's is.
func (q QuickMessage) Recipients() ([]string, []QuickSkip, error) {
	fields := map[string]string{}
	reply := conversations.Reply{Body: q.Body}
	if err := reply.Validate(); err != nil {
		fields["body"] = "is required: text of at most 1600 characters"
	} else if strings.TrimSpace(q.Body) == "" {
		fields["body"] = "is required"
	} else if why := fieldsProblem(q.Body); why != "" {
		fields["body"] = why
	}
	if q.ChannelID == 0 {
		fields["channel_id"] = "is required"
	}
	switch n := len(q.To) + len(q.ContactIDs); {
	case n == 0:
		fields["to"] = "name at least one phone number in to or contact in contact_ids"
	case n > maxQuickRecipients:
		fields["to"] = fmt.Sprintf("at most %d recipients; use a campaign for more", maxQuickRecipients)
	}
	if len(fields) > 0 {
		return nil, nil, parley.Invalid(fields)
	}
	var phones []string
	var skipped []QuickSkip
	seen := map[string]bool{}
	for _, raw := range q.To {
		p, err := conversations.NormalizePhone(raw)
		if err != nil {
			skipped = append(skipped, QuickSkip{To: raw, Reason: SkipInvalidNumber})
			continue
		}
		if !seen[p] {
			seen[p] = true
			phones = append(phones, p)
		}
	}
	return phones, skipped, nil
}

// Send validates the message and queues it through store. The result
// names every recipient: the queued ones, and the skipped ones with why
// (typed text that is not a number first).
func (q QuickMessage) Send(ctx context.Context, store QuickStore) (QuickResult, error) {
	phones, invalid, err := q.Recipients()
	if err != nil {
		return QuickResult{}, err
	}
	res, err := store.QueueQuickMessage(ctx, q, phones)
	if err != nil {
		return QuickResult{}, err
	}
	res.Skipped = append(invalid, res.Skipped...)
	return res, nil
}

// QuickStore queues quick messages.
type QuickStore interface {
	// QueueQuickMessage queues the text to every phone and contact in one
	// transaction: unknown numbers become contacts, a number without a
	// conversation on the channel gets one (pending, assigned to the
	// sender), opted-out phones are skipped; each text is the body's
	// template rendered for the phone's contact. EINVALID when the channel
	// or a contact id is not the account's, or the body does not parse.
	QueueQuickMessage(ctx context.Context, q QuickMessage, phones []string) (QuickResult, error)
}
