// Package telnyxtest is a fake Telnyx for tests, demos and benchmarks: the
// parts of the Messaging API v2 Parley calls (send, fetch a message, list
// the account's numbers) and the phones' side, which posts Ed25519-signed
// webhooks as Telnyx does: message.sent and message.finalized for each
// text, and message.received when a phone texts a business number.
package telnyxtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

// Config describes the fake's one account.
type Config struct {
	// APIKey is the bearer token the API accepts.
	APIKey string
	// Profile is the messaging profile the Numbers are on.
	Profile string
	Numbers []string
	// Key signs the webhooks; its public half is the channel's
	// webhook_secret (PublicKey).
	Key ed25519.PrivateKey
	// ParleyURL is where Parley listens; PublicURL is what Parley calls
	// itself in the webhook URLs it gives, which the fake rewrites to
	// ParleyURL.
	ParleyURL, PublicURL string
	// StatusDelay is waited before each status webhook.
	StatusDelay time.Duration
	// Unsubscribed numbers opted out with Telnyx: texts to them are
	// finalized as sending_failed with 40300.
	Unsubscribed map[string]bool
	// HangUpOn numbers: the fake takes texts to them but drops the
	// connection instead of answering.
	HangUpOn   map[string]bool
	HTTPClient *http.Client
}

// Message is a text the fake took.
type Message = carriertest.Message

// CodeUnsubscribed is Telnyx's "blocked due to STOP message".
const CodeUnsubscribed = 40300

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	cfg Config
	key atomic.Pointer[ed25519.PrivateKey] // signs webhooks; RotateKey replaces it
	net *carriertest.Network
}

// New returns a fake; a zero Key gets a fresh one.
func New(cfg Config) *Carrier {
	if cfg.Key == nil {
		_, cfg.Key, _ = ed25519.GenerateKey(rand.Reader)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Carrier{cfg: cfg, net: carriertest.NewNetwork(cfg.ParleyURL, cfg.PublicURL, cfg.StatusDelay)}
	c.key.Store(&cfg.Key)
	return c
}

// PublicKey is the account's public key, base64, as the portal shows it.
func (c *Carrier) PublicKey() string {
	return base64.StdEncoding.EncodeToString((*c.key.Load()).Public().(ed25519.PublicKey))
}

// RotateKey gives the account a new key pair, as rotating it in Telnyx's
// portal does, and returns the new public key.
func (c *Carrier) RotateKey() string {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	c.key.Store(&k)
	return c.PublicKey()
}

// Close stops the webhooks in flight and waits for them.
func (c *Carrier) Close() { c.net.Close() }

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message { return c.net.Messages() }

// ServeHTTP serves the API.
func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+c.cfg.APIKey {
		writeErrors(w, http.StatusUnauthorized, 10009, "Authentication failed", "The API key is missing or wrong.")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v2/messages":
		c.send(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/messages/"):
		c.fetch(w, strings.TrimPrefix(r.URL.Path, "/v2/messages/"))
	case r.Method == http.MethodGet && r.URL.Path == "/v2/phone_numbers":
		c.numbers(w, r.URL.Query().Get("filter[phone_number]"))
	default:
		writeErrors(w, http.StatusNotFound, 10005, "Resource not found", r.Method+" "+r.URL.Path)
	}
}

func (c *Carrier) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		From       string   `json:"from"`
		To         string   `json:"to"`
		Text       string   `json:"text"`
		MediaURLs  []string `json:"media_urls"`
		WebhookURL string   `json:"webhook_url"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, 10015, "Bad request", err.Error())
		return
	}
	if !slices.Contains(c.cfg.Numbers, in.From) {
		writeErrors(w, http.StatusBadRequest, 40305, "Invalid 'from' address", in.From+" is not a number on this account")
		return
	}
	if in.To == "" || (in.Text == "" && len(in.MediaURLs) == 0) {
		writeErrors(w, http.StatusUnprocessableEntity, 10016, "Invalid parameter", "to and text or media_urls are required")
		return
	}
	m := c.net.Take(Message{From: in.From, To: in.To, Text: in.Text, Media: in.MediaURLs, Status: "queued", WebhookURL: in.WebhookURL})
	if c.cfg.HangUpOn[m.To] {
		carriertest.HangUp(w) // took it, but the answer never arrives
		return
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"data": c.resource(m)})
	final := carriertest.Step{Status: "delivered"}
	if c.cfg.Unsubscribed[m.To] {
		final = carriertest.Step{Status: "sending_failed", Code: CodeUnsubscribed}
	}
	steps := []carriertest.Step{{Status: "sent"}, final}
	c.net.Deliver(m.ID, steps, func(ctx context.Context, m Message) {
		if m.WebhookURL == "" {
			return
		}
		event := "message.finalized"
		if m.Status == "sent" {
			event = "message.sent"
		}
		_, _ = c.post(ctx, c.net.Reachable(m.WebhookURL), event, c.resource(m))
	})
}

func (c *Carrier) fetch(w http.ResponseWriter, id string) {
	m, ok := c.net.Get(id)
	if !ok {
		writeErrors(w, http.StatusNotFound, 10005, "Resource not found", "no message "+id)
		return
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"data": c.resource(m)})
}

func (c *Carrier) numbers(w http.ResponseWriter, filter string) {
	data := []map[string]any{}
	for _, n := range c.cfg.Numbers {
		if filter == "" || n == filter {
			data = append(data, map[string]any{"phone_number": n, "messaging_profile_id": c.cfg.Profile, "record_type": "phone_number"})
		}
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}

// resource is a message as the API and the webhooks show it.
func (c *Carrier) resource(m Message) map[string]any {
	media := []map[string]any{}
	for _, u := range m.Media {
		media = append(media, map[string]any{"url": u, "content_type": "image/jpeg"})
	}
	errs := []map[string]any{}
	if m.Code != 0 {
		errs = append(errs, map[string]any{"code": strconv.Itoa(m.Code), "title": "Blocked due to STOP message",
			"detail": "The recipient has opted out of messages from this number."})
	}
	return map[string]any{"record_type": "message", "id": m.ID, "direction": "outbound", "type": "SMS",
		"messaging_profile_id": c.cfg.Profile, "from": map[string]any{"phone_number": m.From},
		"to": []map[string]any{{"phone_number": m.To, "status": m.Status}}, "text": m.Text, "media": media,
		"parts": 1, "encoding": "GSM-7", "errors": errs}
}

// Inbound is a text a phone sends to one of the account's numbers.
type Inbound = carriertest.Inbound

// SendInbound posts the text to Parley as message.received, at the
// profile's webhook URL, and returns Parley's HTTP status.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	payload := c.resource(Message{ID: in.ID, From: in.From, To: in.To, Text: in.Text, Media: in.Media, Status: "webhook_delivered"})
	payload["direction"] = "inbound"
	payload["from"] = map[string]any{"phone_number": in.From, "carrier": "T-Mobile USA", "line_type": "Wireless"}
	return c.post(ctx, c.net.ParleyURL+"/webhooks/telnyx/"+c.cfg.Profile+"/messages", "message.received", payload)
}

// ServeControl serves the fake's own endpoints under prefix
// (carriertest.Controls), and GET prefix/public-key, the key a channel
// needs.
func (c *Carrier) ServeControl(prefix string) http.Handler {
	return carriertest.Controls(prefix, first(c.cfg.Numbers), c.SendInbound, c.Messages, map[string]http.HandlerFunc{
		"public-key": func(w http.ResponseWriter, _ *http.Request) {
			carriertest.WriteJSON(w, http.StatusOK, map[string]any{"public_key": c.PublicKey(), "messaging_profile_id": c.cfg.Profile,
				"numbers": c.cfg.Numbers})
		},
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// post sends one signed event and returns the answer's status.
func (c *Carrier) post(ctx context.Context, url, eventType string, payload map[string]any) (int, error) {
	body, err := json.Marshal(map[string]any{
		"data": map[string]any{"record_type": "event", "id": carriertest.NewID(), "event_type": eventType,
			"occurred_at": time.Now().UTC().Format(time.RFC3339Nano), "payload": payload},
		"meta": map[string]any{"attempt": 1, "delivered_to": url},
	})
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{"Telnyx-Timestamp": {ts}, "Telnyx-Signature-Ed25519": {Sign(*c.key.Load(), ts, body)}}
	return carriertest.Post(ctx, c.cfg.HTTPClient, url, "application/json", body, h)
}

// Sign is Telnyx's signature of a webhook: Ed25519 over timestamp|body,
// base64.
func Sign(key ed25519.PrivateKey, timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(timestamp+"|"), body...)))
}

func writeErrors(w http.ResponseWriter, status, code int, title, detail string) {
	carriertest.WriteJSON(w, status, map[string]any{"errors": []map[string]any{{"code": strconv.Itoa(code), "title": title, "detail": detail}}})
}
