package telnyx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Send creates a message (POST /v2/messages) from the channel's number on
// its messaging profile, with the status URL as the message's webhook.
// Telnyx's API has no idempotency key: an answer that did not arrive
// leaves the text's fate unknown (SendError Temporary, HTTPStatus 0).
func (a *Adapter) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	req := map[string]any{"from": t.From, "to": t.To, "text": t.Body, "messaging_profile_id": t.CarrierAccountID}
	if t.StatusCallbackURL != "" {
		req["webhook_url"] = t.StatusCallbackURL
	}
	if len(t.MediaURLs) > 0 {
		req["media_urls"] = t.MediaURLs
	}
	var out struct {
		Data message `json:"data"`
	}
	if err := a.call(ctx, http.MethodPost, "/v2/messages", t.AuthToken, req, &out); err != nil {
		return campaigns.SendResult{}, err
	}
	if out.Data.ID == "" {
		return campaigns.SendResult{}, &campaigns.SendError{HTTPStatus: http.StatusOK,
			Message: "Telnyx accepted the text but its answer has no message id; not retrying, to avoid sending it twice"}
	}
	res := campaigns.SendResult{CarrierMessageID: out.Data.ID, Status: string(conversations.MessageQueued), Segments: out.Data.Parts}
	if len(out.Data.To) > 0 {
		if st, ok := statuses[out.Data.To[0].Status]; ok {
			res.Status = string(st)
		}
	}
	return res, nil
}

// Lookup: Telnyx lists no sent messages to search, so an interrupted
// send cannot be found (campaigns.ErrNoLookup).
func (*Adapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, fmt.Errorf("telnyx: %w", campaigns.ErrNoLookup)
}

// messageID is what Telnyx's message ids look like (UUIDs, sometimes with
// a prefix): safe in a path as they are.
var messageID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

// CheckStatus fetches the message (GET /v2/messages/{id}).
func (a *Adapter) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	if !messageID.MatchString(carrierMessageID) {
		return campaigns.CarrierStatus{}, &campaigns.SendError{Message: fmt.Sprintf("%q is not a Telnyx message id", carrierMessageID)}
	}
	var out struct {
		Data message `json:"data"`
	}
	if err := a.call(ctx, http.MethodGet, "/v2/messages/"+carrierMessageID, t.AuthToken, nil, &out); err != nil {
		return campaigns.CarrierStatus{}, err
	}
	bad := map[string]string{}
	rc := receipt(out.Data, bad)
	if len(bad) > 0 {
		return campaigns.CarrierStatus{}, &campaigns.SendError{HTTPStatus: http.StatusOK, Temporary: true,
			Message: fmt.Sprintf("Telnyx reports message %s without a status Parley knows", carrierMessageID)}
	}
	s := campaigns.CarrierStatus{Status: rc.Status, Unsubscribed: rc.Unsubscribed}
	if rc.ErrorCode != 0 {
		s.ErrorCode = &rc.ErrorCode
	}
	return s, nil
}

// VerifyChannel asks Telnyx, with the channel's API key, for its number
// (GET /v2/phone_numbers?filter[phone_number]=…), which must be on the
// channel's messaging profile.
func (a *Adapter) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	var out struct {
		Data []struct {
			PhoneNumber        string `json:"phone_number"`
			MessagingProfileID string `json:"messaging_profile_id"`
		} `json:"data"`
	}
	path := "/v2/phone_numbers?" + url.Values{"filter[phone_number]": {c.PhoneNumber}}.Encode()
	err := a.call(ctx, http.MethodGet, path, c.AuthToken, nil, &out)
	if carrier.RefusedCredentials(err) {
		return conversations.CredentialsRejectedBecause("Telnyx refused this API key", "is not an API key Telnyx accepts")
	} else if err != nil {
		return conversations.CarrierUnavailable("Telnyx could not be asked about the number: %v", err)
	}
	for _, n := range out.Data {
		if n.PhoneNumber != c.PhoneNumber {
			continue
		}
		if !strings.EqualFold(n.MessagingProfileID, c.CarrierAccountID) {
			return &parley.Error{Kind: parley.EINVALID, Code: conversations.CodeNumberNotOnCarrierAccount,
				Message: "the number is on another Telnyx messaging profile", Fields: map[string]string{"account_id": "is not the number's messaging profile"}}
		}
		return nil
	}
	return conversations.NotOnCarrierAccount("phone_number")
}

// call makes one API call with the API key as bearer token.
func (a *Adapter) call(ctx context.Context, method, path, apiKey string, in, out any) error {
	if apiKey == "" {
		return &campaigns.SendError{Message: "the channel has no Telnyx API key"}
	}
	return a.api.Do(ctx, method, path, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+apiKey) }, in, out)
}

// refusal reads Telnyx's first error: its code and words.
func refusal(_ int, raw []byte) *campaigns.SendError {
	var e struct {
		Errors []apiError `json:"errors"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Errors) == 0 {
		return nil
	}
	code := errorCode(e.Errors)
	return &campaigns.SendError{Code: code, Message: strings.TrimSpace(e.Errors[0].Title + ": " + e.Errors[0].Detail),
		Unsubscribed: code == CodeUnsubscribed}
}
