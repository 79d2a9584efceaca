package conversations

import (
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// InboxKind says what an inbox is for.
type InboxKind string

// Inbox kinds.
const (
	InboxSupport InboxKind = "support"
	InboxSales   InboxKind = "sales"
	InboxGeneral InboxKind = "general"
	InboxSuccess InboxKind = "success"
)

// Inbox is a queue and policy container that channels feed.
type Inbox struct {
	ID        parley.ID
	AccountID parley.ID
	Name      string
	Kind      InboxKind
	CreatedAt time.Time
}

// Validate normalises and checks a new inbox.
func (i *Inbox) Validate() error {
	fields := map[string]string{}
	i.Name = strings.TrimSpace(i.Name)
	if i.Name == "" {
		fields["name"] = "is required"
	} else if len(i.Name) > 200 {
		fields["name"] = "must be at most 200 bytes"
	}
	if i.Kind == "" {
		i.Kind = InboxGeneral
	}
	switch i.Kind {
	case InboxSupport, InboxSales, InboxGeneral, InboxSuccess:
	default:
		fields["kind"] = "must be one of support, sales, general, success"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// CarrierTwilio is the only carrier of the first wave.
const CarrierTwilio = "twilio"

// Channel is a connected sender: one business number, or a carrier
// messaging service (a pool of numbers), with the credentials to verify its
// webhooks and to send.
type Channel struct {
	ID                   parley.ID
	AccountID            parley.ID
	InboxID              parley.ID
	Carrier              string
	PhoneNumber          string // E.164; may be empty for a messaging service
	MessagingServiceSID  string
	CarrierAccountID     string // Twilio AccountSid
	AuthToken            string // never leaves the server
	CarrierHandlesOptOut bool
	// MessagesPerSecond paces sends from this channel; 0: no limit.
	MessagesPerSecond float64
	CreatedAt         time.Time
}

var (
	twilioAccountSID = regexp.MustCompile(`^AC[0-9A-Za-z]{32}$`)
	twilioServiceSID = regexp.MustCompile(`^MG[0-9A-Za-z]{32}$`)
)

// Validate normalises and checks a new channel.
func (c *Channel) Validate() error {
	fields := map[string]string{}
	if c.Carrier != CarrierTwilio {
		fields["carrier"] = `must be "twilio"`
	}
	if c.InboxID == 0 {
		fields["inbox_id"] = "is required"
	}
	if c.PhoneNumber == "" && c.MessagingServiceSID == "" {
		fields["phone_number"] = "is required unless messaging_service_sid is given"
	}
	if c.PhoneNumber != "" {
		if p, err := NormalizePhone(c.PhoneNumber); err != nil {
			fields["phone_number"] = "must be a phone number in E.164 form"
		} else {
			c.PhoneNumber = p
		}
	}
	if c.MessagingServiceSID != "" && !twilioServiceSID.MatchString(c.MessagingServiceSID) {
		fields["messaging_service_sid"] = "must be a Twilio Messaging Service SID (MG followed by 32 characters)"
	}
	if !twilioAccountSID.MatchString(c.CarrierAccountID) {
		fields["account_sid"] = "must be a Twilio Account SID (AC followed by 32 characters)"
	}
	if strings.TrimSpace(c.AuthToken) == "" {
		fields["auth_token"] = "is required"
	} else if len(c.AuthToken) > 200 {
		fields["auth_token"] = "must be at most 200 bytes"
	}
	if c.MessagesPerSecond < 0 || c.MessagesPerSecond > 1000 {
		fields["messages_per_second"] = "must be from 0 (no limit) to 1000"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}
