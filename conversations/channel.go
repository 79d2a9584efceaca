package conversations

import (
	"context"
	"errors"
	"maps"
	"net/url"
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

// The carriers Parley speaks. Each has an adapter in gateway/<carrier>.
const (
	CarrierTwilio    = "twilio"
	CarrierTelnyx    = "telnyx"
	CarrierPlivo     = "plivo"
	CarrierVonage    = "vonage"
	CarrierBandwidth = "bandwidth"
	CarrierBird      = "bird"
)

// Channel is a connected sender: one business number, or a carrier
// messaging service (a pool of numbers), with the credentials to verify its
// webhooks and to send.
type Channel struct {
	ID                  parley.ID
	AccountID           parley.ID
	InboxID             parley.ID
	Carrier             string
	PhoneNumber         string // E.164; may be empty for a messaging service
	MessagingServiceSID string
	// CarrierAccountID is the carrier's account the number is on: Twilio's
	// AccountSid, Telnyx's messaging profile, Plivo's auth id, Vonage's
	// API key, Bandwidth's account id, Bird's workspace.
	CarrierAccountID string
	// AuthToken is the secret Parley sends with (and, for Twilio and
	// Plivo, checks webhooks with). It never leaves the server.
	AuthToken string
	// WebhookSecret checks the carrier's webhooks where that is not
	// AuthToken: Telnyx's public key, Vonage's signature secret, Bird's
	// signing key, the password Bandwidth sends. Never leaves the server.
	WebhookSecret string
	// Options are the carrier's other settings of the channel, e.g.
	// Bandwidth's application id; the adapter says which it needs.
	Options              map[string]string
	CarrierHandlesOptOut bool
	// MessagesPerSecond paces sends from this channel; 0: no limit.
	MessagesPerSecond float64
	CreatedAt         time.Time
	// DisconnectedAt is set once an admin disconnected the channel: its
	// webhooks are refused and nothing more is sent from it.
	DisconnectedAt *time.Time
}

// Connected reports whether the channel still receives and sends.
func (c Channel) Connected() bool { return c.DisconnectedAt == nil }

// Throughput bounds of a paced channel, in messages per second: from a
// slow international long code to a short code (CARRIERS.md). Outside
// them a pace means nothing a carrier offers, and a tiny one overflowed
// the pacing interval into no pacing at all.
const (
	MinMessagesPerSecond = 0.01
	MaxMessagesPerSecond = 1000
)

// checkMessagesPerSecond says why mps is not a channel's pace, or "".
func checkMessagesPerSecond(mps float64) string {
	if mps == 0 || (mps >= MinMessagesPerSecond && mps <= MaxMessagesPerSecond) { // false for NaN
		return ""
	}
	return "must be 0 (no limit) or from 0.01 to 1000"
}

// checkAuthToken says why token cannot be a carrier auth token, or "".
func checkAuthToken(token string) string {
	switch {
	case strings.TrimSpace(token) == "":
		return "is required"
	case len(token) > 200:
		return "must be at most 200 bytes"
	}
	return ""
}

// Validate normalises and checks what every channel has. The carrier's
// own fields (its account id, service, secrets and options) are its
// adapter's to check: CarrierVerifier.CheckChannel.
func (c *Channel) Validate() error {
	fields := map[string]string{}
	if strings.TrimSpace(c.Carrier) == "" {
		fields["carrier"] = "is required"
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
	if why := checkAuthToken(c.AuthToken); why != "" {
		fields["auth_token"] = why
	}
	if len(c.WebhookSecret) > 1000 {
		fields["webhook_secret"] = "must be at most 1000 bytes"
	}
	if why := checkMessagesPerSecond(c.MessagesPerSecond); why != "" {
		fields["messages_per_second"] = why
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// ChannelPatch changes what an admin may change on a connected channel;
// nil fields stay as they are. The number, service and carrier account
// are the channel's identity and never change.
type ChannelPatch struct {
	AuthToken *string
	// WebhookSecret replaces the secret that checks the carrier's
	// webhooks, for a carrier that has one (a rotated Telnyx key, a new
	// Bandwidth callback password).
	WebhookSecret        *string
	InboxID              *parley.ID
	MessagesPerSecond    *float64
	CarrierHandlesOptOut *bool
}

// Validate checks the fields the patch sets.
func (p ChannelPatch) Validate() error {
	fields := map[string]string{}
	if p.AuthToken != nil {
		if why := checkAuthToken(*p.AuthToken); why != "" {
			fields["auth_token"] = why
		}
	}
	if p.WebhookSecret != nil && len(*p.WebhookSecret) > 1000 {
		fields["webhook_secret"] = "must be at most 1000 bytes"
	}
	if p.InboxID != nil && *p.InboxID == 0 {
		fields["inbox_id"] = "must name an inbox"
	}
	if p.MessagesPerSecond != nil {
		if why := checkMessagesPerSecond(*p.MessagesPerSecond); why != "" {
			fields["messages_per_second"] = why
		}
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// Error codes of a channel the carrier does not vouch for.
const (
	CodeCarrierCredentialsInvalid  = "carrier_credentials_invalid"
	CodeNumberNotOnCarrierAccount  = "number_not_on_carrier_account"
	CodeServiceNotOnCarrierAccount = "messaging_service_not_on_carrier_account"
	CodeCarrierUnavailable         = "carrier_unavailable"
	// CodeChannelDisconnected fails the texts still queued on a channel
	// an admin disconnected, and refuses new ones.
	CodeChannelDisconnected = "channel_disconnected"
)

// CarrierVerifier asks the carrier whether a channel's credentials own its
// number and messaging service. A channel is stored, and a new token
// kept, only once it said yes: otherwise anyone could claim another
// tenant's carrier account and answer for its webhooks.
type CarrierVerifier interface {
	// CheckChannel normalises and checks the carrier's own fields of a
	// new channel (account id, service, webhook secret, options) and
	// returns the bad ones, named as the API names them; an unknown
	// carrier is a bad "carrier".
	CheckChannel(c *Channel) map[string]string
	// VerifyChannel returns nil when the carrier accepts c's credentials
	// and lists c's number and service on that account; EINVALID with
	// one of the codes above when it does not; EUPSTREAM when the carrier
	// cannot be asked.
	VerifyChannel(ctx context.Context, c Channel) error
}

// CredentialsRejected is the carrier refusing a channel's credentials.
func CredentialsRejected() error {
	return CredentialsRejectedBecause("the carrier refused this account SID and auth token", "is not accepted by the carrier for this account_sid")
}

// CredentialsRejectedBecause is CredentialsRejected in the carrier's own
// words: message for the error, why for the auth_token field.
func CredentialsRejectedBecause(message, why string) error {
	return &parley.Error{Kind: parley.EINVALID, Code: CodeCarrierCredentialsInvalid, Message: message, Fields: map[string]string{"auth_token": why}}
}

// NotOnCarrierAccount is the channel's number (field "phone_number") or
// messaging service ("messaging_service_sid") missing from the carrier
// account its credentials open.
func NotOnCarrierAccount(field string) error {
	code, what := CodeNumberNotOnCarrierAccount, "number"
	if field == "messaging_service_sid" {
		code, what = CodeServiceNotOnCarrierAccount, "messaging service"
	}
	return &parley.Error{Kind: parley.EINVALID, Code: code,
		Message: "the carrier account of this account SID has no such " + what, Fields: map[string]string{field: "is not on this carrier account"}}
}

// CarrierUnavailable is a verification the carrier could not answer.
func CarrierUnavailable(format string, args ...any) error {
	e := parley.Errorf(parley.EUPSTREAM, format, args...)
	e.Code = CodeCarrierUnavailable
	return e
}

// ChannelDisconnected refuses a text on a disconnected channel.
func ChannelDisconnected() error {
	return parley.Conflict(CodeChannelDisconnected, "the channel was disconnected: connect a channel to send from")
}

// ChannelClaims finds and releases the channel, of any account, that holds
// a number or messaging service on a carrier account.
type ChannelClaims interface {
	// ChannelHolding returns the connected channel holding c's number
	// or service on c's carrier account; ENOTFOUND when none does.
	ChannelHolding(ctx context.Context, c Channel) (Channel, error)
	// ReleaseClaimedChannel disconnects c as DisconnectChannel does,
	// unless its token changed since it was read.
	ReleaseClaimedChannel(ctx context.Context, c Channel, at time.Time) error
}

// ChannelConnector is what ConnectChannel needs of the store.
type ChannelConnector interface {
	ChannelClaims
	CreateChannel(ctx context.Context, c Channel) (Channel, error)
}

// ConnectChannel stores c, whose credentials the carrier verified. When
// another account's channel holds c's number or service (claimed before
// channels were verified), the carrier is asked about the holder's
// credentials: refused, the holder is disconnected and c takes its place;
// accepted, c is refused with channel_exists as before. The carrier is
// asked between transactions, never inside one.
func ConnectChannel(ctx context.Context, s ChannelConnector, v CarrierVerifier, c Channel, at time.Time) (Channel, error) {
	created, err := s.CreateChannel(ctx, c)
	if !parley.IsKind(err, parley.ECONFLICT) {
		return created, err
	}
	holder, herr := s.ChannelHolding(ctx, c)
	if parley.IsKind(herr, parley.ENOTFOUND) {
		return s.CreateChannel(ctx, c) // released meanwhile
	} else if herr != nil {
		return created, herr
	}
	if holder.AccountID == c.AccountID {
		return created, err
	}
	switch verr := v.VerifyChannel(ctx, holder); {
	case verr == nil:
		return created, err
	case !parley.IsKind(verr, parley.EINVALID):
		return created, verr // the carrier could not say
	}
	if err := s.ReleaseClaimedChannel(ctx, holder, at); err != nil {
		return created, err
	}
	return s.CreateChannel(ctx, c)
}

// WebhookURLs are the addresses to paste into the carrier's console for
// channel c of a Parley reached at publicURL: its texts and their
// statuses. Twilio's name no account (its webhooks carry the AccountSid);
// the other carriers' carry the carrier account in the path, as not all
// of their webhooks say which account they are for, and for a carrier
// that signs nothing (Bandwidth) the channel's token after it.
func (c Channel) WebhookURLs(publicURL string) (inbound, status string) {
	base := strings.TrimRight(publicURL, "/") + "/webhooks/" + c.Carrier
	if c.Carrier != CarrierTwilio {
		key := c.CarrierAccountID
		if token := c.Options[OptionWebhookToken]; token != "" {
			key += "." + token
		}
		base += "/" + url.PathEscape(key)
	}
	return base + "/messages", base + "/status"
}

// OptionWebhookToken is the option holding the token in the webhook URLs
// of a channel whose carrier signs nothing.
const OptionWebhookToken = "webhook_token"

// WeakWebhookAuth reports whether the carrier's webhooks are checked by
// credentials and a URL token instead of a signature over what they say.
func (c Channel) WeakWebhookAuth() bool { return c.Options[OptionWebhookToken] != "" }

// AddChannel checks a new channel, has the carrier vouch for its
// credentials and connects it (ConnectChannel).
func AddChannel(ctx context.Context, s ChannelConnector, v CarrierVerifier, c Channel, at time.Time) (Channel, error) {
	if err := checkChannel(&c, v); err != nil {
		return Channel{}, err
	}
	if err := v.VerifyChannel(ctx, c); err != nil {
		return Channel{}, err
	}
	return ConnectChannel(ctx, s, v, c, at)
}

// checkChannel is Validate and the carrier's CheckChannel, every bad
// field in one EINVALID.
func checkChannel(c *Channel, v CarrierVerifier) error {
	fields := map[string]string{}
	var pe *parley.Error
	if err := c.Validate(); errors.As(err, &pe) {
		maps.Copy(fields, pe.Fields)
	} else if err != nil {
		return err
	}
	if _, bad := fields["carrier"]; !bad {
		maps.Copy(fields, v.CheckChannel(c))
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// ChannelChanger is what ChangeChannel needs of the store.
type ChannelChanger interface {
	GetChannel(ctx context.Context, accountID, channelID parley.ID) (Channel, error)
	UpdateChannel(ctx context.Context, accountID, channelID parley.ID, p ChannelPatch) (Channel, error)
}

// ChangeChannel applies a patch to a connected channel. A new auth token
// is kept only once the carrier accepts it, so a leaked token can be
// rotated.
func ChangeChannel(ctx context.Context, s ChannelChanger, v CarrierVerifier, accountID, channelID parley.ID, p ChannelPatch) (Channel, error) {
	if err := p.Validate(); err != nil {
		return Channel{}, err
	}
	if p.AuthToken != nil || p.WebhookSecret != nil {
		c, err := s.GetChannel(ctx, accountID, channelID)
		if err != nil {
			return Channel{}, err
		}
		if !c.Connected() {
			return Channel{}, ChannelDisconnected()
		}
		if p.WebhookSecret != nil {
			// The carrier cannot vouch for a webhook secret: its adapter
			// checks that it is one.
			c.WebhookSecret = *p.WebhookSecret
			if why := v.CheckChannel(&c)["webhook_secret"]; why != "" {
				return Channel{}, parley.Invalid(map[string]string{"webhook_secret": why})
			}
		}
		if p.AuthToken != nil {
			c.AuthToken = *p.AuthToken
			if err := v.VerifyChannel(ctx, c); err != nil {
				return Channel{}, err
			}
		}
	}
	return s.UpdateChannel(ctx, accountID, channelID, p)
}
