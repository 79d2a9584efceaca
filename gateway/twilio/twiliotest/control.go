package twiliotest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The /fake/ control API lets a person or a curl walkthrough see what the
// phones received and make a phone text Parley. Its errors use Parley's
// shape ({"error": {"code", "message"}}), not Twilio's, because it is not
// part of Twilio.

type controlError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeControlError(w http.ResponseWriter, status int, code, message string) {
	var e controlError
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

// handleFakeMessages answers {"data": [Message…]}, oldest first, optionally
// only the texts to ?to=.
func (c *Carrier) handleFakeMessages(w http.ResponseWriter, r *http.Request) {
	var data []Message
	if to := r.URL.Query().Get("to"); to != "" {
		data = c.MessagesTo(plusFromQuery(to))
	} else {
		data = c.Messages()
	}
	if data == nil {
		data = []Message{} // "data": [] reads better than null
	}
	writeJSON(w, http.StatusOK, map[string][]Message{"data": data})
}

// plusFromQuery undoes the space an unescaped "+" in a hand-typed URL
// (?to=+1555…) becomes.
func plusFromQuery(phone string) string {
	if rest, ok := strings.CutPrefix(phone, " "); ok {
		return "+" + rest
	}
	return phone
}

func (c *Carrier) handleFakeReset(w http.ResponseWriter, r *http.Request) {
	c.Reset()
	w.WriteHeader(http.StatusNoContent)
}

type inboundRequest struct {
	AccountSid          string   `json:"account_sid"`
	From                string   `json:"from"`
	To                  string   `json:"to"`
	Body                string   `json:"body"`
	MessagingServiceSid string   `json:"messaging_service_sid"`
	MediaURLs           []string `json:"media_urls"`
	MessageSid          string   `json:"message_sid"`
}

type inboundResponse struct {
	MessageSid   string `json:"message_sid"`
	ParleyStatus int    `json:"parley_status"`
	ParleyBody   string `json:"parley_body"`
}

// handleFakeInbound makes a phone text Parley and reports Parley's answer.
// Parley's own refusals (403, 404…) are a successful result here; only an
// unreachable Parley is a 502.
func (c *Carrier) handleFakeInbound(w http.ResponseWriter, r *http.Request) {
	var req inboundRequest
	// A field of another carrier's fake ("text") is refused, not sent on
	// as an empty text.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeControlError(w, http.StatusBadRequest, "bad_json", `body must be a JSON object of "from", "to", "body" and the like: `+err.Error())
		return
	}
	if req.From == "" || req.To == "" {
		writeControlError(w, http.StatusBadRequest, "invalid", `"from" and "to" are required`)
		return
	}
	res, err := c.SendInbound(r.Context(), Inbound{
		AccountSid:          req.AccountSid,
		From:                req.From,
		To:                  req.To,
		Body:                req.Body,
		MessagingServiceSid: req.MessagingServiceSid,
		MessageSid:          req.MessageSid,
		MediaURLs:           req.MediaURLs,
	})
	switch {
	case errors.Is(err, ErrUnknownAccount):
		writeControlError(w, http.StatusBadRequest, "unknown_account", err.Error())
	case err != nil && res.StatusCode == 0:
		writeControlError(w, http.StatusBadGateway, "parley_unreachable", err.Error())
	default:
		writeJSON(w, http.StatusOK, inboundResponse{MessageSid: res.MessageSid, ParleyStatus: res.StatusCode, ParleyBody: res.Body})
	}
}
