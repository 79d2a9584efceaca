// Package plivotest is a fake Plivo for tests, demos and benchmarks: the
// parts of the Message API Parley calls (send, fetch a message, fetch a
// number) and the phones' side, which posts form webhooks signed as Plivo
// signs them (V2 and V3): a status callback for each step of a text, and
// an inbound message when a phone texts a business number.
package plivotest

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/plivo"
)

// Config describes the fake's one account.
type Config struct {
	AuthID, AuthToken string
	Numbers           []string // E.164
	// ParleyURL is where Parley listens; PublicURL is what Parley calls
	// itself, which webhooks are signed over.
	ParleyURL, PublicURL string
	StatusDelay          time.Duration
	// Unsubscribed numbers sent STOP to the account: texts to them fail
	// with Plivo's error 200.
	Unsubscribed map[string]bool
	// HangUpOn numbers: the fake takes texts to them but drops the
	// connection instead of answering.
	HangUpOn   map[string]bool
	HTTPClient *http.Client
}

// Message is a text the fake took.
type Message = carriertest.Message

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	cfg Config
	net *carriertest.Network
}

// New returns a fake.
func New(cfg Config) *Carrier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = cfg.ParleyURL
	}
	return &Carrier{cfg: cfg, net: carriertest.NewNetwork(cfg.ParleyURL, cfg.PublicURL, cfg.StatusDelay)}
}

// Close stops the webhooks in flight and waits for them.
func (c *Carrier) Close() { c.net.Close() }

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message { return c.net.Messages() }

// ServeHTTP serves the API.
func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/v1/Account/" + c.cfg.AuthID + "/"
	id, token, ok := r.BasicAuth()
	if !ok || id != c.cfg.AuthID || token != c.cfg.AuthToken || !strings.HasPrefix(r.URL.Path, prefix) {
		carriertest.WriteJSON(w, http.StatusUnauthorized, map[string]any{"api_id": carriertest.NewID(), "error": "authentication failed"})
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodPost && rest == "Message/":
		c.send(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "Message/"):
		c.fetch(w, strings.TrimSuffix(strings.TrimPrefix(rest, "Message/"), "/"))
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "Number/"):
		number := "+" + strings.TrimSuffix(strings.TrimPrefix(rest, "Number/"), "/")
		if !slices.Contains(c.cfg.Numbers, number) {
			carriertest.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
			return
		}
		carriertest.WriteJSON(w, http.StatusOK, map[string]any{"number": strings.TrimPrefix(number, "+"), "sms_enabled": true})
	default:
		carriertest.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
	}
}

func (c *Carrier) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Src, Dst, Text, URL string
		MediaURLs           []string `json:"media_urls"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		carriertest.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	if !slices.Contains(c.cfg.Numbers, "+"+in.Src) {
		carriertest.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "src parameter not a valid number for this account"})
		return
	}
	if in.Dst == "" || (in.Text == "" && len(in.MediaURLs) == 0) {
		carriertest.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "dst and text are required"})
		return
	}
	m := c.net.Take(Message{From: "+" + in.Src, To: "+" + in.Dst, Text: in.Text, Media: in.MediaURLs, Status: "queued", WebhookURL: in.URL})
	if c.cfg.HangUpOn[m.To] {
		carriertest.HangUp(w) // took it, but the answer never arrives
		return
	}
	carriertest.WriteJSON(w, http.StatusAccepted, map[string]any{"api_id": carriertest.NewID(), "message": "message(s) queued",
		"message_uuid": []string{m.ID}})
	final := carriertest.Step{Status: "delivered"}
	if c.cfg.Unsubscribed[m.To] {
		final = carriertest.Step{Status: "failed", Code: plivo.CodeUnsubscribed}
	}
	c.net.Deliver(m.ID, []carriertest.Step{{Status: "sent"}, final}, func(ctx context.Context, m Message) {
		if m.WebhookURL == "" {
			return
		}
		form := url.Values{"MessageUUID": {m.ID}, "From": {strings.TrimPrefix(m.From, "+")}, "To": {strings.TrimPrefix(m.To, "+")},
			"Status": {m.Status}, "Type": {"sms"}, "Units": {"1"}, "TotalRate": {"0.0050"}, "TotalAmount": {"0.0050"},
			"MessageTime": {m.At.UTC().Format("2006-01-02 15:04:05")}}
		if m.Code != 0 {
			form.Set("ErrorCode", strconv.Itoa(m.Code))
		}
		_, _ = c.post(ctx, m.WebhookURL, form)
	})
}

func (c *Carrier) fetch(w http.ResponseWriter, id string) {
	m, ok := c.net.Get(id)
	if !ok {
		carriertest.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
		return
	}
	code := ""
	if m.Code != 0 {
		code = strconv.Itoa(m.Code)
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"message_uuid": m.ID, "message_state": m.Status, "error_code": code,
		"from_number": strings.TrimPrefix(m.From, "+"), "to_number": strings.TrimPrefix(m.To, "+"), "message_direction": "outbound", "units": 1})
}

// Inbound is a text a phone sends to one of the account's numbers.
type Inbound = carriertest.Inbound

// SendInbound posts the text to Parley's inbound URL for the account, as
// Plivo's message_url request, and returns Parley's HTTP status.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	form := url.Values{"MessageUUID": {in.ID}, "From": {strings.TrimPrefix(in.From, "+")}, "To": {strings.TrimPrefix(in.To, "+")},
		"Type": {"sms"}, "Text": {in.Text}, "Units": {"1"}, "TotalRate": {"0"}, "TotalAmount": {"0"}, "MessageIntent": {""}}
	if len(in.Media) > 0 {
		form.Set("Type", "mms")
		form.Set("Body", in.Text)
		form.Del("Text")
		form.Set("MediaCount", strconv.Itoa(len(in.Media)))
		for i, u := range in.Media {
			form.Set("Media"+strconv.Itoa(i+1), u)
		}
	}
	return c.post(ctx, strings.TrimRight(c.cfg.PublicURL, "/")+"/webhooks/plivo/"+c.cfg.AuthID+"/messages", form)
}

// ServeControl serves the fake's own endpoints under prefix
// (carriertest.Controls).
func (c *Carrier) ServeControl(prefix string) http.Handler {
	to := ""
	if len(c.cfg.Numbers) > 0 {
		to = c.cfg.Numbers[0]
	}
	return carriertest.Controls(prefix, to, c.SendInbound, c.Messages, nil)
}

// post signs a form for the URL Parley gave and posts it where Parley
// listens. Plivo signs its messaging webhooks with V2 only (CARRIERS.md),
// with the account's header and the main account's, and a random nonce.
func (c *Carrier) post(ctx context.Context, publicURL string, form url.Values) (int, error) {
	nonce := strconv.FormatUint(rand.Uint64(), 10)
	sig := plivo.SignV2(c.cfg.AuthToken, publicURL, nonce)
	h := http.Header{plivo.HeaderV2: {sig}, plivo.HeaderMainV2: {sig}, plivo.HeaderV2Nonce: {nonce}}
	return carriertest.Post(ctx, c.cfg.HTTPClient, c.net.Reachable(publicURL), "application/x-www-form-urlencoded", []byte(form.Encode()), h)
}
