package plivo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Send creates a message (POST /v1/Account/{auth_id}/Message/) from the
// channel's number, with the status URL as its callback. Plivo's API has
// no idempotency key: an answer that did not arrive leaves the text's
// fate unknown (SendError Temporary, HTTPStatus 0).
func (a *Adapter) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	req := map[string]any{"src": strings.TrimPrefix(t.From, "+"), "dst": strings.TrimPrefix(t.To, "+"), "text": t.Body, "type": "sms"}
	if t.StatusCallbackURL != "" {
		req["url"], req["method"] = t.StatusCallbackURL, http.MethodPost
	}
	if len(t.MediaURLs) > 0 {
		req["type"], req["media_urls"] = "mms", t.MediaURLs
	}
	var out struct {
		MessageUUID []string `json:"message_uuid"`
	}
	if err := a.call(ctx, http.MethodPost, "/Message/", t, req, &out); err != nil {
		return campaigns.SendResult{}, err
	}
	if len(out.MessageUUID) == 0 || out.MessageUUID[0] == "" {
		return campaigns.SendResult{}, &campaigns.SendError{HTTPStatus: http.StatusAccepted,
			Message: "Plivo accepted the text but its answer has no message UUID; not retrying, to avoid sending it twice"}
	}
	return campaigns.SendResult{CarrierMessageID: out.MessageUUID[0], Status: string(conversations.MessageQueued)}, nil
}

// Lookup: Plivo's list of messages carries no text, so an interrupted
// send cannot be told from another text to the same phone
// (campaigns.ErrNoLookup).
func (*Adapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, fmt.Errorf("plivo: %w", campaigns.ErrNoLookup)
}

var messageUUID = regexp.MustCompile(`^[0-9A-Za-z-]{1,128}$`)

// CheckStatus fetches the message (GET …/Message/{uuid}/).
func (a *Adapter) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	if !messageUUID.MatchString(carrierMessageID) {
		return campaigns.CarrierStatus{}, &campaigns.SendError{Message: fmt.Sprintf("%q is not a Plivo message UUID", carrierMessageID)}
	}
	var out struct {
		State     string `json:"message_state"`
		ErrorCode string `json:"error_code"`
	}
	if err := a.call(ctx, http.MethodGet, "/Message/"+carrierMessageID+"/", t, nil, &out); err != nil {
		return campaigns.CarrierStatus{}, err
	}
	bad := map[string]string{}
	rc := receipt(carrierMessageID, out.State, out.ErrorCode, bad)
	if len(bad) > 0 || rc.Status.Rank() == 0 {
		return campaigns.CarrierStatus{}, &campaigns.SendError{HTTPStatus: http.StatusOK, Temporary: true,
			Message: fmt.Sprintf("Plivo reports message %s as %q, not an outbound status", carrierMessageID, out.State)}
	}
	s := campaigns.CarrierStatus{Status: rc.Status, Unsubscribed: rc.Unsubscribed}
	if rc.ErrorCode != 0 {
		s.ErrorCode = &rc.ErrorCode
	}
	return s, nil
}

// VerifyChannel asks Plivo, with the channel's Auth ID and token, for its
// number (GET …/Number/{number}/).
func (a *Adapter) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	t := campaigns.OutboundText{CarrierAccountID: c.CarrierAccountID, AuthToken: c.AuthToken}
	err := a.call(ctx, http.MethodGet, "/Number/"+url.PathEscape(strings.TrimPrefix(c.PhoneNumber, "+"))+"/", t, nil, nil)
	var se *campaigns.SendError
	switch {
	case err == nil:
		return nil
	case carrier.RefusedCredentials(err):
		return conversations.CredentialsRejectedBecause("Plivo refused this Auth ID and auth token", "is not accepted by Plivo for this account_id")
	case errors.As(err, &se) && se.HTTPStatus == http.StatusNotFound:
		return conversations.NotOnCarrierAccount("phone_number")
	}
	return conversations.CarrierUnavailable("Plivo could not be asked about the number: %v", err)
}

// call makes one call under the text's account, with basic auth.
func (a *Adapter) call(ctx context.Context, method, path string, t campaigns.OutboundText, in, out any) error {
	if t.CarrierAccountID == "" || t.AuthToken == "" {
		return &campaigns.SendError{Message: "the channel has no Plivo Auth ID or auth token"}
	}
	path = "/v1/Account/" + url.PathEscape(t.CarrierAccountID) + path
	return a.api.Do(ctx, method, path, func(r *http.Request) { r.SetBasicAuth(t.CarrierAccountID, t.AuthToken) }, in, out)
}

// refusal reads Plivo's {"error": …} answer.
func refusal(_ int, raw []byte) *campaigns.SendError {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Error) == 0 {
		return nil
	}
	var msg string
	if json.Unmarshal(e.Error, &msg) != nil {
		msg = string(e.Error) // an object of field errors
	}
	se := &campaigns.SendError{Message: msg}
	// A few answers carry a numeric code beside the words.
	var coded struct {
		Code json.Number `json:"error_code"`
	}
	if json.Unmarshal(raw, &coded) == nil {
		if n, err := strconv.Atoi(coded.Code.String()); err == nil {
			se.Code = n
			se.Unsubscribed = n == CodeUnsubscribed
		}
	}
	return se
}
