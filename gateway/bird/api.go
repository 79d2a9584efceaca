package bird

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
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

// Send creates a message on the channel
// (POST /workspaces/{ws}/channels/{channel}/messages) to the text's phone.
// Bird's send takes no status URL: its receipts go to the channel's
// webhook subscription, whose URL is the channel's status_webhook_url, so
// t.StatusCallbackURL is not sent. The API has no idempotency key: an
// answer that did not arrive leaves the text's fate unknown (SendError
// Temporary, HTTPStatus 0).
func (a *Adapter) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	req := map[string]any{
		"receiver": map[string]any{"contacts": []map[string]string{{"identifierValue": t.To}}},
		"body":     messageBody(t.Body, t.MediaURLs),
	}
	if t.MessageID != 0 {
		// Shown beside the message in Bird's logs, for support.
		req["reference"] = fmt.Sprintf("parley:%d", t.MessageID)
	}
	var out message
	if err := a.call(ctx, http.MethodPost, t, "/messages", req, &out); err != nil {
		return campaigns.SendResult{}, err
	}
	if out.ID == "" {
		return campaigns.SendResult{}, &campaigns.SendError{HTTPStatus: http.StatusAccepted,
			Message: "Bird accepted the text but its answer has no message id; not retrying, to avoid sending it twice"}
	}
	res := campaigns.SendResult{CarrierMessageID: out.ID, Status: string(conversations.MessageQueued), Segments: len(out.Parts)}
	if st, ok := statuses[out.Status]; ok {
		res.Status = string(st)
	}
	return res, nil
}

// messageBody is a text body, or with media an image body carrying the
// text as its caption: Bird's SMS channels send an image body as MMS where
// the number can.
func messageBody(text string, mediaURLs []string) map[string]any {
	if len(mediaURLs) == 0 {
		return map[string]any{"type": "text", "text": map[string]any{"text": text}}
	}
	images := make([]map[string]string, len(mediaURLs))
	for i, u := range mediaURLs {
		images[i] = map[string]string{"mediaUrl": u}
	}
	image := map[string]any{"images": images}
	if text != "" {
		image["text"] = text
	}
	return map[string]any{"type": "image", "image": image}
}

// Lookup: Bird's message list cannot be searched by Parley's reference
// reliably, so an interrupted send cannot be found (campaigns.ErrNoLookup).
func (*Adapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, fmt.Errorf("bird: %w", campaigns.ErrNoLookup)
}

// messageID is what Bird's message ids look like (UUIDs): safe in a path
// as they are.
var messageID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

// CheckStatus fetches the message
// (GET /workspaces/{ws}/channels/{channel}/messages/{id}). A message Bird
// does not know is its 404, a final SendError: Bird will never say.
func (a *Adapter) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	if !messageID.MatchString(carrierMessageID) {
		return campaigns.CarrierStatus{}, &campaigns.SendError{Message: fmt.Sprintf("%q is not a Bird message id", carrierMessageID)}
	}
	var out message
	if err := a.call(ctx, http.MethodGet, t, "/messages/"+carrierMessageID, nil, &out); err != nil {
		return campaigns.CarrierStatus{}, err
	}
	out.ID = carrierMessageID
	rc, ok := receipt(out, map[string]string{})
	if !ok {
		return campaigns.CarrierStatus{}, &campaigns.SendError{HTTPStatus: http.StatusOK, Temporary: true,
			Message: fmt.Sprintf("Bird reports message %s without a status Parley knows", carrierMessageID)}
	}
	s := campaigns.CarrierStatus{Status: rc.Status}
	if rc.ErrorCode != 0 {
		s.ErrorCode = &rc.ErrorCode
	}
	return s, nil
}

// VerifyChannel asks Bird, with the channel's access key, for the channel
// (GET /workspaces/{ws}/channels/{channel}): it must be an SMS channel of
// the workspace, sending from the channel's number.
func (a *Adapter) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	var out struct {
		PlatformID      string `json:"platformId"`
		Identifier      string `json:"identifier"`
		IdentifierValue string `json:"identifierValue"`
	}
	t := campaigns.OutboundText{CarrierAccountID: c.CarrierAccountID, AuthToken: c.AuthToken, Options: c.Options}
	err := a.call(ctx, http.MethodGet, t, "", nil, &out)
	var se *campaigns.SendError
	switch {
	case carrier.RefusedCredentials(err):
		return conversations.CredentialsRejectedBecause("Bird refused this access key",
			"is not an access key Bird accepts for this workspace and channel")
	case errors.As(err, &se) && se.HTTPStatus == http.StatusNotFound:
		return notOnAccount("account_id", "the Bird workspace has no such channel", "is not a channel of options.workspace_id")
	case err != nil:
		return conversations.CarrierUnavailable("Bird could not be asked about the channel: %v", err)
	}
	// Bird's SMS platforms are named sms-…; a WhatsApp or email channel
	// of the workspace cannot send texts.
	if out.PlatformID != "" && !strings.HasPrefix(out.PlatformID, "sms") {
		return notOnAccount("account_id", "the Bird channel is not an SMS channel", "is not an SMS channel")
	}
	if number := cmp.Or(out.Identifier, out.IdentifierValue); number != "" {
		if n, err := conversations.NormalizePhone(number); err != nil || n != c.PhoneNumber {
			return notOnAccount("phone_number", "the Bird channel sends from another number", "is not the number of this Bird channel")
		}
	}
	return nil
}

// notOnAccount is a channel Bird does not vouch for, naming the field.
func notOnAccount(field, message, why string) error {
	return &parley.Error{Kind: parley.EINVALID, Code: conversations.CodeNumberNotOnCarrierAccount,
		Message: message, Fields: map[string]string{field: why}}
}

// call makes one call on the text's channel (path after
// /workspaces/{ws}/channels/{channel}) with its access key.
func (a *Adapter) call(ctx context.Context, method string, t campaigns.OutboundText, path string, in, out any) error {
	ws := t.Options[OptionWorkspaceID]
	if t.AuthToken == "" || ws == "" || t.CarrierAccountID == "" {
		return &campaigns.SendError{Message: "the channel has no Bird access key, workspace or channel id"}
	}
	path = "/workspaces/" + url.PathEscape(ws) + "/channels/" + url.PathEscape(t.CarrierAccountID) + path
	return a.api.Do(ctx, method, path, func(r *http.Request) { r.Header.Set("Authorization", "AccessKey "+t.AuthToken) }, in, out)
}

// refusal reads Bird's {"code", "message"}: the code is a word
// ("NotFound"), kept in the message; a numeric one is kept as the code.
func refusal(_ int, raw []byte) *campaigns.SendError {
	var e struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil || (len(e.Code) == 0 && e.Message == "") {
		return nil
	}
	se := &campaigns.SendError{}
	var name string
	if json.Unmarshal(e.Code, &name) != nil {
		var n int
		if json.Unmarshal(e.Code, &n) == nil && n > 0 {
			se.Code = n
		}
	}
	se.Message = strings.Trim(name+": "+e.Message, ": ")
	return se
}
