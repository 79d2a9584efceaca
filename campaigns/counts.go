package campaigns

import "github.com/parleyhq/parley/conversations"

// RecipientState is what decides where a recipient is counted: its own
// status and, once queued, its text's.
type RecipientState struct {
	Recipient RecipientStatus
	Message   conversations.MessageStatus // "" before the text exists
}

// Move is N recipients going from one state to another in one change; a
// recipient just added to the campaign comes from the zero state.
type Move struct {
	From, To RecipientState
	N        int
}

// bucket is the count a recipient in state s is in (API.md): queued while
// pending or in the outbox, sent once the carrier has it (or has left it
// unknown), then delivered or failed; skipped or cancelled when it never
// went. Nil for a state no count shows.
func (c *Counts) bucket(s RecipientState) *int {
	switch s.Recipient {
	case RecipientPending:
		return &c.Queued
	case RecipientSkippedOptedOut:
		return &c.SkippedOptedOut
	case RecipientCancelled:
		return &c.Cancelled
	case RecipientQueued:
		switch s.Message {
		case conversations.MessageQueued:
			return &c.Queued
		case conversations.MessageSending, conversations.MessageSent, conversations.MessageUnknown:
			return &c.Sent
		case conversations.MessageDelivered:
			return &c.Delivered
		case conversations.MessageFailed, conversations.MessageUndelivered:
			return &c.Failed
		}
	}
	return nil
}

// named is the count called name in the API, nil for another name.
func (c *Counts) named(name string) *int {
	switch name {
	case "queued":
		return &c.Queued
	case "sent":
		return &c.Sent
	case "delivered":
		return &c.Delivered
	case "failed":
		return &c.Failed
	case string(RecipientSkippedOptedOut):
		return &c.SkippedOptedOut
	case string(RecipientCancelled):
		return &c.Cancelled
	}
	return nil
}

// Apply counts a move: its recipients leave the count of their former
// state, or join the campaign, and enter the count of their new one.
func (c *Counts) Apply(m Move) {
	if m.From == (RecipientState{}) {
		c.Recipients += m.N
	} else if from := c.bucket(m.From); from != nil {
		*from -= m.N
	}
	if to := c.bucket(m.To); to != nil {
		*to += m.N
	}
}
