package bandwidth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Send creates a message (POST /api/v2/users/{account}/messages) on the
// channel's application. Its receipts go to the application's callback
// URL, which is the channel's status_webhook_url. The API has no
// idempotency key: an answer that did not arrive leaves the text's fate
// unknown.
func (a *Adapter) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	req := map[string]any{"applicationId": t.Options[OptionApplicationID], "to": []string{t.To}, "from": t.From, "text": t.Body,
		"tag": fmt.Sprintf("parley:%d", t.MessageID)}
	if len(t.MediaURLs) > 0 {
		req["media"] = t.MediaURLs
	}
	var out struct {
		ID           string `json:"id"`
		SegmentCount int    `json:"segmentCount"`
	}
	if err := a.call(ctx, http.MethodPost, "/messages", t, req, &out); err != nil {
		return campaigns.SendResult{}, err
	}
	if out.ID == "" {
		return campaigns.SendResult{}, &campaigns.SendError{HTTPStatus: http.StatusAccepted,
			Message: "Bandwidth accepted the text but its answer has no message id; not retrying, to avoid sending it twice"}
	}
	return campaigns.SendResult{CarrierMessageID: out.ID, Status: string(conversations.MessageQueued), Segments: out.SegmentCount}, nil
}

// Lookup: Bandwidth's message list carries no text, so an interrupted send
// cannot be told from another text to the same phone (campaigns.ErrNoLookup).
func (*Adapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, fmt.Errorf("bandwidth: %w", campaigns.ErrNoLookup)
}

// listed is a message as GET …/messages lists it.
type listed struct {
	MessageID     string `json:"messageId"`
	MessageStatus string `json:"messageStatus"`
	ErrorCode     int    `json:"errorCode"`
}

// CheckStatus finds the message in the account's list
// (GET …/messages?messageId=…).
func (a *Adapter) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	var out struct {
		Messages []listed `json:"messages"`
	}
	if err := a.call(ctx, http.MethodGet, "/messages?"+url.Values{"messageId": {carrierMessageID}}.Encode(), t, nil, &out); err != nil {
		return campaigns.CarrierStatus{}, err
	}
	for _, m := range out.Messages {
		if m.MessageID != carrierMessageID {
			continue
		}
		st, ok := listStatuses[strings.ToUpper(m.MessageStatus)]
		if !ok {
			break
		}
		s := campaigns.CarrierStatus{Status: st}
		if m.ErrorCode != 0 {
			code := m.ErrorCode
			s.ErrorCode, s.Unsubscribed = &code, code == CodeUnsubscribed && carrier.FailedForGood(st)
		}
		return s, nil
	}
	return campaigns.CarrierStatus{}, &campaigns.SendError{HTTPStatus: http.StatusOK, Temporary: true,
		Message: fmt.Sprintf("Bandwidth lists no outbound status for message %s", carrierMessageID)}
}

// listStatuses maps the list's messageStatus to Parley's statuses.
var listStatuses = map[string]conversations.MessageStatus{
	"QUEUED": conversations.MessageQueued, "ACCEPTED": conversations.MessageQueued, "SENDING": conversations.MessageSending,
	"SENT": conversations.MessageSent, "DELIVERED": conversations.MessageDelivered, "FAILED": conversations.MessageFailed,
	"UNDELIVERED": conversations.MessageUndelivered,
}

// VerifyChannel checks the API credentials on the account with a one-row
// message list. Bandwidth's messaging API lists no numbers, so the number
// is not checked here; the token in the webhook URLs keeps another
// account's callbacks out all the same.
func (a *Adapter) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	t := campaigns.OutboundText{CarrierAccountID: c.CarrierAccountID, AuthToken: c.AuthToken, Options: c.Options}
	switch err := a.call(ctx, http.MethodGet, "/messages?limit=1", t, nil, nil); {
	case err == nil:
		return nil
	case carrier.RefusedCredentials(err):
		return conversations.CredentialsRejectedBecause("Bandwidth refused this API user and password",
			"is not accepted by Bandwidth for options.api_username on this account")
	default:
		return conversations.CarrierUnavailable("Bandwidth could not be asked: %v", err)
	}
}

// call makes one call under the text's account, as the API user.
func (a *Adapter) call(ctx context.Context, method, path string, t campaigns.OutboundText, in, out any) error {
	user := t.Options[OptionAPIUsername]
	if t.CarrierAccountID == "" || user == "" || t.AuthToken == "" {
		return &campaigns.SendError{Message: "the channel has no Bandwidth account, API user or password"}
	}
	path = "/api/v2/users/" + url.PathEscape(t.CarrierAccountID) + path
	return a.api.Do(ctx, method, path, func(r *http.Request) { r.SetBasicAuth(user, t.AuthToken) }, in, out)
}

// refusal reads Bandwidth's {"type", "description"}.
func refusal(_ int, raw []byte) *campaigns.SendError {
	var e struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	if json.Unmarshal(raw, &e) != nil || e.Type == "" {
		return nil
	}
	return &campaigns.SendError{Message: strings.TrimSpace(e.Type + ": " + e.Description)}
}
