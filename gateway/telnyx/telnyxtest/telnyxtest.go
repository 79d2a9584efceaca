// Package telnyxtest is a fake Telnyx for tests, demos and benchmarks: the
// parts of the Messaging API v2 Parley calls (send, fetch a message, list
// the account's numbers) and the phones' side, which posts Ed25519-signed
// webhooks as Telnyx does: message.sent and message.finalized for each
// text, and message.received when a phone texts a business number.
package telnyxtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
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
	HTTPClient   *http.Client
}

// Message is a text the fake took.
type Message struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	Status     string    `json:"status"`
	Media      []string  `json:"media_urls,omitempty"`
	WebhookURL string    `json:"webhook_url,omitempty"`
	Code       int       `json:"error_code,omitempty"` // the error code it was finalized with
	At         time.Time `json:"created_at"`
}

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	cfg  Config
	mu   sync.Mutex
	msgs map[string]*Message
	sent []string // ids in the order taken
	wg   sync.WaitGroup
	stop context.CancelFunc
	ctx  context.Context
}

// New returns a fake; a zero Key gets a fresh one.
func New(cfg Config) *Carrier {
	if cfg.Key == nil {
		_, cfg.Key, _ = ed25519.GenerateKey(rand.Reader)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Carrier{cfg: cfg, msgs: map[string]*Message{}, ctx: ctx, stop: stop}
}

// PublicKey is the account's public key, base64, as the portal shows it.
func (c *Carrier) PublicKey() string {
	return base64.StdEncoding.EncodeToString(c.cfg.Key.Public().(ed25519.PublicKey))
}

// Close stops the webhooks in flight and waits for them.
func (c *Carrier) Close() {
	c.stop()
	c.wg.Wait()
}

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Message, 0, len(c.sent))
	for _, id := range c.sent {
		out = append(out, *c.msgs[id])
	}
	return out
}

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
		From               string   `json:"from"`
		To                 string   `json:"to"`
		Text               string   `json:"text"`
		MediaURLs          []string `json:"media_urls"`
		WebhookURL         string   `json:"webhook_url"`
		MessagingProfileID string   `json:"messaging_profile_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, 10015, "Bad request", err.Error())
		return
	}
	if !c.hasNumber(in.From) {
		writeErrors(w, http.StatusBadRequest, 40305, "Invalid 'from' address", in.From+" is not a number on this account")
		return
	}
	if in.To == "" || (in.Text == "" && len(in.MediaURLs) == 0) {
		writeErrors(w, http.StatusUnprocessableEntity, 10016, "Invalid parameter", "to and text or media_urls are required")
		return
	}
	m := &Message{ID: newID(), From: in.From, To: in.To, Text: in.Text, Media: in.MediaURLs, Status: "queued",
		WebhookURL: in.WebhookURL, At: time.Now()}
	c.mu.Lock()
	c.msgs[m.ID] = m
	c.sent = append(c.sent, m.ID)
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": c.resource(*m)})
	c.wg.Add(1)
	go c.deliver(m.ID)
}

// deliver plays the handset: sent, then finalized as delivered, or as
// sending_failed with 40300 for a number that opted out with Telnyx.
func (c *Carrier) deliver(id string) {
	defer c.wg.Done()
	for _, step := range []string{"message.sent", "message.finalized"} {
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(c.cfg.StatusDelay):
		}
		c.mu.Lock()
		m := c.msgs[id]
		switch {
		case step == "message.sent":
			m.Status = "sent"
		case c.cfg.Unsubscribed[m.To]:
			m.Status, m.Code = "sending_failed", 40300
		default:
			m.Status = "delivered"
		}
		snap := *m
		c.mu.Unlock()
		if snap.WebhookURL != "" {
			_, _ = c.post(c.ctx, c.parleyURL(snap.WebhookURL), step, c.resource(snap))
		}
	}
}

func (c *Carrier) fetch(w http.ResponseWriter, id string) {
	c.mu.Lock()
	m, ok := c.msgs[id]
	var snap Message
	if ok {
		snap = *m
	}
	c.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, 10005, "Resource not found", "no message "+id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": c.resource(snap)})
}

func (c *Carrier) numbers(w http.ResponseWriter, filter string) {
	data := []map[string]any{}
	for _, n := range c.cfg.Numbers {
		if filter == "" || n == filter {
			data = append(data, map[string]any{"phone_number": n, "messaging_profile_id": c.cfg.Profile, "record_type": "phone_number"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func (c *Carrier) hasNumber(n string) bool {
	for _, have := range c.cfg.Numbers {
		if have == n {
			return true
		}
	}
	return false
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

// Inbound is a text a phone sends to one of the account's numbers. An
// empty ID gets a fresh one; a fixed one makes a resend a duplicate.
type Inbound struct {
	ID, From, To, Text string
	Media              []string
}

// SendInbound posts the text to Parley as message.received, at the
// profile's webhook URL, and returns Parley's HTTP status.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = newID()
	}
	m := Message{ID: in.ID, From: in.From, To: in.To, Text: in.Text, Media: in.Media, Status: "webhook_delivered"}
	payload := c.resource(m)
	payload["direction"] = "inbound"
	payload["from"] = map[string]any{"phone_number": in.From, "carrier": "T-Mobile USA", "line_type": "Wireless"}
	url := strings.TrimRight(c.cfg.ParleyURL, "/") + "/webhooks/telnyx/" + c.cfg.Profile + "/messages"
	return c.post(ctx, url, "message.received", payload)
}

// ServeControl serves the fake's own endpoints under prefix: POST
// prefix/inbound {"from","to","text","id"?} texts Parley (answering
// Parley's status), GET prefix/public-key answers the key a channel
// needs, GET prefix/messages lists the texts taken.
func (c *Carrier) ServeControl(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == prefix+"/inbound":
			var in Inbound
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if in.To == "" && len(c.cfg.Numbers) > 0 {
				in.To = c.cfg.Numbers[0]
			}
			status, err := c.SendInbound(r.Context(), in)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"parley_status": status})
		case r.Method == http.MethodGet && r.URL.Path == prefix+"/public-key":
			writeJSON(w, http.StatusOK, map[string]any{"public_key": c.PublicKey(), "messaging_profile_id": c.cfg.Profile,
				"numbers": c.cfg.Numbers})
		case r.Method == http.MethodGet && r.URL.Path == prefix+"/messages":
			writeJSON(w, http.StatusOK, map[string]any{"data": c.Messages()})
		default:
			http.NotFound(w, r)
		}
	})
}

// post sends one signed event and returns the answer's status.
func (c *Carrier) post(ctx context.Context, url, eventType string, payload map[string]any) (int, error) {
	body, err := json.Marshal(map[string]any{
		"data": map[string]any{"record_type": "event", "id": newID(), "event_type": eventType,
			"occurred_at": time.Now().UTC().Format(time.RFC3339Nano), "payload": payload},
		"meta": map[string]any{"attempt": 1, "delivered_to": url},
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Telnyx-Timestamp", ts)
	req.Header.Set("Telnyx-Signature-Ed25519", Sign(c.cfg.Key, ts, body))
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign is Telnyx's signature of a webhook: Ed25519 over timestamp|body,
// base64.
func Sign(key ed25519.PrivateKey, timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(timestamp+"|"), body...)))
}

// parleyURL turns a URL Parley gave (on its public URL) into one the fake
// can reach.
func (c *Carrier) parleyURL(u string) string {
	if c.cfg.PublicURL != "" && strings.HasPrefix(u, c.cfg.PublicURL) {
		return strings.TrimRight(c.cfg.ParleyURL, "/") + strings.TrimPrefix(u, strings.TrimRight(c.cfg.PublicURL, "/"))
	}
	return u
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status, code int, title, detail string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"code": strconv.Itoa(code), "title": title, "detail": detail}}})
}
