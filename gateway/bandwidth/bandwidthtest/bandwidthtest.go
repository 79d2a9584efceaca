// Package bandwidthtest is a fake Bandwidth for tests, demos and
// benchmarks: the parts of the Messaging API v2 Parley calls (send, list
// messages) and the phones' side, which posts callbacks as Bandwidth
// does, arrays of events with basic-auth credentials: message-sending and
// message-delivered (or message-failed) for each text to the
// application's outbound URL, message-received to its inbound URL.
package bandwidthtest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/gateway/bandwidth"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

// Config describes the fake's one account and application.
type Config struct {
	AccountID, ApplicationID string
	// APIUser and APIPassword are the API's credentials.
	APIUser, APIPassword string
	Numbers              []string
	// CallbackUser and CallbackPassword are the credentials the
	// application's callbacks carry; InboundURL and OutboundURL are its
	// callback URLs, on Parley's public URL.
	CallbackUser, CallbackPassword string
	InboundURL, OutboundURL        string
	ParleyURL, PublicURL           string
	StatusDelay                    time.Duration
	// Unsubscribed numbers opted out: texts to them fail with 4775.
	Unsubscribed map[string]bool
	// HangUpOn numbers: the fake takes texts to them but drops the
	// connection instead of answering.
	HangUpOn   map[string]bool
	HTTPClient *http.Client
}

// Message is a text the fake took.
type Message = carriertest.Message

// Inbound is a text a phone sends to one of the account's numbers.
type Inbound = carriertest.Inbound

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	mu  sync.Mutex // guards the callback URLs and password in cfg
	cfg Config
	net *carriertest.Network
}

// New returns a fake.
func New(cfg Config) *Carrier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Carrier{cfg: cfg, net: carriertest.NewNetwork(cfg.ParleyURL, cfg.PublicURL, cfg.StatusDelay)}
}

// SetCallbackURLs points the application's callbacks at Parley's URLs (as
// an admin does in Bandwidth's dashboard once the channel exists).
func (c *Carrier) SetCallbackURLs(inbound, outbound string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.InboundURL, c.cfg.OutboundURL = inbound, outbound
}

// SetCallbackPassword changes the password the callbacks carry, as an
// admin does on the application.
func (c *Carrier) SetCallbackPassword(password string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.CallbackPassword = password
}

func (c *Carrier) callbackURLs() (inbound, outbound string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.InboundURL, c.cfg.OutboundURL
}

// Close stops the callbacks in flight and waits for them.
func (c *Carrier) Close() { c.net.Close() }

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message { return c.net.Messages() }

// ServeHTTP serves the API.
func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != c.cfg.APIUser || pass != c.cfg.APIPassword {
		carriertest.WriteJSON(w, http.StatusUnauthorized, map[string]any{"type": "unauthorized", "description": "Authentication Failed"})
		return
	}
	if r.URL.Path != "/api/v2/users/"+c.cfg.AccountID+"/messages" {
		carriertest.WriteJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "Not Found", "path": r.URL.Path})
		return
	}
	switch r.Method {
	case http.MethodPost:
		c.send(w, r)
	case http.MethodGet:
		c.list(w, r.URL.Query().Get("messageId"))
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (c *Carrier) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ApplicationID string   `json:"applicationId"`
		To            []string `json:"to"`
		From, Text    string
		Media         []string `json:"media"`
		Tag           string   `json:"tag"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.To) != 1 {
		carriertest.WriteJSON(w, http.StatusBadRequest, map[string]any{"type": "request-validation", "description": "Your request could not be accepted"})
		return
	}
	if in.ApplicationID != c.cfg.ApplicationID || !slices.Contains(c.cfg.Numbers, in.From) {
		carriertest.WriteJSON(w, http.StatusBadRequest, map[string]any{"type": "request-validation",
			"description": "from must be a number of the application " + c.cfg.ApplicationID})
		return
	}
	m := c.net.Take(Message{From: in.From, To: in.To[0], Text: in.Text, Media: in.Media, Status: "QUEUED"})
	if c.cfg.HangUpOn[m.To] {
		carriertest.HangUp(w) // took it, but the answer never arrives
		return
	}
	carriertest.WriteJSON(w, http.StatusAccepted, c.resource(m, in.Tag))
	final := carriertest.Step{Status: "DELIVERED"}
	if c.cfg.Unsubscribed[m.To] {
		final = carriertest.Step{Status: "FAILED", Code: bandwidth.CodeUnsubscribed}
	}
	c.net.Deliver(m.ID, []carriertest.Step{{Status: "SENDING"}, final}, func(ctx context.Context, m Message) {
		ev := map[string]any{"type": "message-" + strings.ToLower(m.Status), "time": time.Now().UTC().Format(time.RFC3339),
			"description": "ok", "to": m.To, "message": c.resource(m, in.Tag)}
		if m.Code != 0 {
			ev["errorCode"], ev["description"] = m.Code, "destination-rejected-due-to-user-opt-out"
		}
		_, outbound := c.callbackURLs()
		_, _ = c.post(ctx, outbound, []map[string]any{ev})
	})
}

func (c *Carrier) list(w http.ResponseWriter, id string) {
	out := []map[string]any{}
	for _, m := range c.Messages() {
		if id == "" || m.ID == id {
			out = append(out, map[string]any{"messageId": m.ID, "messageStatus": m.Status, "errorCode": m.Code,
				"sourceTn": m.From, "destinationTn": m.To, "messageDirection": "OUTBOUND"})
		}
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"totalCount": len(out), "messages": out})
}

func (c *Carrier) resource(m Message, tag string) map[string]any {
	return map[string]any{"id": m.ID, "owner": m.From, "applicationId": c.cfg.ApplicationID, "time": m.At.UTC().Format(time.RFC3339),
		"segmentCount": 1, "direction": "out", "to": []string{m.To}, "from": m.From, "text": m.Text, "media": m.Media, "tag": tag}
}

// SendInbound posts the text to the application's inbound URL as a
// message-received callback and returns Parley's HTTP status.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	media := in.Media
	if media == nil {
		media = []string{}
	}
	ev := map[string]any{"type": "message-received", "time": time.Now().UTC().Format(time.RFC3339), "description": "Incoming message received",
		"to": in.To, "message": map[string]any{"id": in.ID, "owner": in.To, "applicationId": c.cfg.ApplicationID, "segmentCount": 1,
			"direction": "in", "to": []string{in.To}, "from": in.From, "text": in.Text, "media": media}}
	inbound, _ := c.callbackURLs()
	return c.post(ctx, inbound, []map[string]any{ev})
}

// ServeControl serves the fake's own endpoints under prefix
// (carriertest.Controls), and POST prefix/callbacks {"inbound",
// "outbound"}, which sets the application's callback URLs.
func (c *Carrier) ServeControl(prefix string) http.Handler {
	to := ""
	if len(c.cfg.Numbers) > 0 {
		to = c.cfg.Numbers[0]
	}
	controls := carriertest.Controls(prefix, to, c.SendInbound, c.Messages, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != prefix+"/callbacks" {
			controls.ServeHTTP(w, r)
			return
		}
		var urls struct{ Inbound, Outbound string }
		if err := json.NewDecoder(r.Body).Decode(&urls); err != nil || urls.Inbound == "" || urls.Outbound == "" {
			http.Error(w, `want {"inbound": URL, "outbound": URL}`, http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.cfg.InboundURL, c.cfg.OutboundURL = urls.Inbound, urls.Outbound
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
}

// post sends a callback with the application's credentials.
func (c *Carrier) post(ctx context.Context, publicURL string, events []map[string]any) (int, error) {
	if publicURL == "" {
		return 0, nil // the application has no callback URL yet
	}
	body, err := json.Marshal(events)
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	c.mu.Lock()
	req.SetBasicAuth(c.cfg.CallbackUser, c.cfg.CallbackPassword)
	c.mu.Unlock()
	return carriertest.Post(ctx, c.cfg.HTTPClient, c.net.Reachable(publicURL), "application/json", body,
		http.Header{"Authorization": req.Header["Authorization"]})
}
