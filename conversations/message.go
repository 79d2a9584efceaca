package conversations

import (
	"time"

	"github.com/parleyhq/parley"
)

// Direction of a message.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// MessageKind says whether a message is a text, an internal note or a
// rendered event.
type MessageKind string

// Message kinds.
const (
	KindText  MessageKind = "text"
	KindNote  MessageKind = "note"
	KindEvent MessageKind = "event"
)

// MessageStatus is a message's delivery status.
type MessageStatus string

// Message statuses.
const (
	MessageReceived    MessageStatus = "received"
	MessageQueued      MessageStatus = "queued"
	MessageSending     MessageStatus = "sending"
	MessageSent        MessageStatus = "sent"
	MessageDelivered   MessageStatus = "delivered"
	MessageUndelivered MessageStatus = "undelivered"
	MessageFailed      MessageStatus = "failed"
	MessageUnknown     MessageStatus = "unknown"
)

// Rank orders outbound statuses so that callbacks arriving out of order
// never move a message backwards: queued < sending < sent < final.
// delivered, undelivered and failed are all final and share a rank, so the
// first final status a carrier reports sticks.
func (s MessageStatus) Rank() int {
	switch s {
	case MessageQueued:
		return 1
	case MessageSending:
		return 2
	case MessageSent:
		return 3
	case MessageDelivered, MessageUndelivered, MessageFailed:
		return 4
	}
	return 0
}

// Message is one entry of a thread: a text either way, or an internal note.
type Message struct {
	ID             parley.ID
	AccountID      parley.ID
	ConversationID parley.ID
	ChannelID      parley.ID
	Direction      Direction
	Kind           MessageKind
	Body           string
	MediaURLs      []string
	Status         MessageStatus
	ErrorCode      *int
	// ErrorReason says why a text failed when no carrier code does, e.g.
	// channel_disconnected; "" otherwise.
	ErrorReason      string
	CarrierMessageID string
	AuthorID         *parley.ID
	CampaignID       *parley.ID
	Segments         int
	Encoding         string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}
