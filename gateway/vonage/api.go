package vonage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// ClientRefPrefix starts the client reference Parley sends each text
// with, which is the text's carrier id.
const ClientRefPrefix = "parley-"

// The SMS API's send statuses Parley reads: the API answers 200 with one
// of these in each part's entry.
const (
	statusOK             = "0"
	statusThrottled      = "1"
	statusInternal       = "5"
	statusBadCredentials = "4"
	statusTooManyBinds   = "10"
	statusBadSignature   = "14"
)

// sendAnswer is the SMS API's answer: an entry per part.
type sendAnswer struct {
	Count    string `json:"message-count"`
	Messages []struct {
		Status    string `json:"status"`
		MessageID string `json:"message-id"`
		ErrorText string `json:"error-text"`
	} `json:"messages"`
}

// Send sends the text (POST /sms/json) from the channel's number, with the
// status URL as its callback and its client reference. Vonage has no
// idempotency key: an answer that did not arrive leaves the text's fate
// unknown.
func (a *Adapter) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	if len(t.MediaURLs) > 0 {
		return campaigns.SendResult{}, &campaigns.SendError{Message: "Vonage's SMS API sends no pictures: send the text without them, or from another carrier"}
	}
	ref := ClientRefPrefix + t.MessageID.String()
	req := map[string]any{"api_key": t.CarrierAccountID, "api_secret": t.AuthToken, "from": digits(t.From), "to": digits(t.To),
		"text": t.Body, "client-ref": ref}
	if conversations.Segment(t.Body).Encoding == conversations.EncodingUCS2 {
		req["type"] = "unicode"
	}
	if t.StatusCallbackURL != "" {
		req["callback"] = t.StatusCallbackURL
	}
	var out sendAnswer
	if err := a.api.Do(ctx, http.MethodPost, "/sms/json", func(*http.Request) {}, req, &out); err != nil {
		return campaigns.SendResult{}, err
	}
	if len(out.Messages) == 0 {
		return campaigns.SendResult{}, &campaigns.SendError{HTTPStatus: http.StatusOK,
			Message: "Vonage answered with no message entry; not retrying, to avoid sending the text twice"}
	}
	first := out.Messages[0]
	if first.Status != statusOK {
		return campaigns.SendResult{}, refused(first.Status, first.ErrorText)
	}
	// Later parts refused after the first was taken: the text went out
	// in part, and its receipts say how it ended.
	return campaigns.SendResult{CarrierMessageID: ref, Status: string(conversations.MessageSent), Segments: len(out.Messages)}, nil
}

// refused is a send status other than 0 as a SendError: throttling and
// Vonage's own faults may be retried; credentials say so.
func refused(status, words string) *campaigns.SendError {
	code, _ := strconv.Atoi(status)
	se := &campaigns.SendError{HTTPStatus: http.StatusOK, Code: code, Message: strings.TrimSpace("Vonage refused the text: " + words)}
	switch status {
	case statusThrottled, statusInternal, statusTooManyBinds:
		se.Temporary = true
	case statusBadCredentials, statusBadSignature:
		se.HTTPStatus = http.StatusUnauthorized
	}
	return se
}

// digits is a number as Vonage writes it: without the +.
func digits(e164 string) string { return strings.TrimPrefix(e164, "+") }

// Lookup: the SMS API lists no sent messages to search, so an
// interrupted send cannot be found (campaigns.ErrNoLookup).
func (*Adapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, fmt.Errorf("vonage: %w", campaigns.ErrNoLookup)
}

// CheckStatus: the SMS API has no message to fetch; only its receipts
// say how a text ended. A final error, so the text is not asked about
// again.
func (*Adapter) CheckStatus(context.Context, campaigns.OutboundText, string) (campaigns.CarrierStatus, error) {
	return campaigns.CarrierStatus{}, &campaigns.SendError{Message: "Vonage's SMS API has no status to look up; its delivery receipts are the only word"}
}

// VerifyChannel asks Vonage, with the channel's key and secret, for the
// account's numbers matching the channel's (GET /account/numbers).
func (a *Adapter) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	var out struct {
		Numbers []struct {
			MSISDN   string   `json:"msisdn"`
			Features []string `json:"features"`
		} `json:"numbers"`
	}
	q := url.Values{"api_key": {c.CarrierAccountID}, "api_secret": {c.AuthToken}, "pattern": {digits(c.PhoneNumber)}, "search_pattern": {"1"}}
	err := a.api.Do(ctx, http.MethodGet, "/account/numbers?"+q.Encode(), func(*http.Request) {}, nil, &out)
	if carrier.RefusedCredentials(err) {
		return conversations.CredentialsRejectedBecause("Vonage refused this API key and secret", "is not an API secret Vonage accepts for this key")
	} else if err != nil {
		return conversations.CarrierUnavailable("Vonage could not be asked about the number: %v", err)
	}
	for _, n := range out.Numbers {
		if n.MSISDN != digits(c.PhoneNumber) {
			continue
		}
		for _, f := range n.Features {
			if f == "SMS" {
				return nil
			}
		}
		return &parley.Error{Kind: parley.EINVALID, Code: conversations.CodeNumberNotOnCarrierAccount,
			Message: "the number cannot send texts on Vonage", Fields: map[string]string{"phone_number": "has no SMS feature on this Vonage account"}}
	}
	return conversations.NotOnCarrierAccount("phone_number")
}
