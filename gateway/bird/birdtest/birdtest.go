// Package birdtest is a fake Bird for tests, demos and benchmarks: the
// parts of the Channels API Parley calls (send a message, fetch it, fetch
// the channel) and the phones' side, which posts webhooks signed as a Bird
// webhook subscription signs them: sms.outbound for each status of each
// text, and sms.inbound when a phone texts the channel's number.
//
// Bird's send takes no status URL: its statuses go to the workspace's
// webhook subscription. The fake's subscription posts to the channel's
// Parley URLs unless told others (Config, SetWebhookURLs).
package birdtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

// Config describes the fake's one workspace and its one SMS channel.
type Config struct {
	// AccessKey is the key the API accepts (Authorization: AccessKey …).
	AccessKey string
	// Workspace is the workspace's id; Channel is its SMS channel's id
	// (lower case, as Parley keeps it) and Number the channel's number.
	Workspace, Channel, Number string
	// SigningKey is the webhook subscription's signing key, a channel's
	// webhook_secret; empty, the fake makes one.
	SigningKey string
	// ParleyURL is where Parley listens; PublicURL is what Parley calls
	// itself, which webhooks are signed over and the fake rewrites to
	// ParleyURL.
	ParleyURL, PublicURL string
	// InboundURL and StatusURL are the subscription's URLs on PublicURL;
	// empty, the channel's /webhooks/bird/{channel}/messages and
	// …/status there.
	InboundURL, StatusURL string
	// StatusDelay is waited before each status webhook.
	StatusDelay time.Duration
	// Fail numbers: texts to them end sending_failed with the failure
	// code (Bird could not hand them to the SMS platform).
	Fail map[string]int
	// Undeliverable numbers: texts to them are sent, then end
	// delivery_failed with the failure code.
	Undeliverable map[string]int
	// HangUpOn numbers: the fake takes texts to them but drops the
	// connection instead of answering.
	HangUpOn   map[string]bool
	HTTPClient *http.Client
}

// CodeUnknownSubscriber is the failure code of Bird's documented example
// of an SMS the network could not deliver (an unknown subscriber).
const CodeUnknownSubscriber = 15005

// Message is a text the fake took.
type Message = carriertest.Message

// Inbound is a text a phone sends to the channel's number.
type Inbound = carriertest.Inbound

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	cfg       Config
	connector string // the channel's connector, which inbound texts name
	net       *carriertest.Network

	mu                    sync.Mutex // guards what an admin changes at Bird
	signingKey            string
	inboundURL, statusURL string
}

// New returns a fake.
func New(cfg Config) *Carrier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Carrier{cfg: cfg, connector: carriertest.NewID(), signingKey: cfg.SigningKey,
		net: carriertest.NewNetwork(cfg.ParleyURL, cfg.PublicURL, cfg.StatusDelay)}
	if c.signingKey == "" {
		c.signingKey = newKey()
	}
	if base := strings.TrimRight(cmp.Or(cfg.PublicURL, cfg.ParleyURL), "/"); base != "" {
		base += "/webhooks/bird/" + cfg.Channel
		c.inboundURL, c.statusURL = base+"/messages", base+"/status"
	}
	c.inboundURL, c.statusURL = cmp.Or(cfg.InboundURL, c.inboundURL), cmp.Or(cfg.StatusURL, c.statusURL)
	return c
}

func newKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SigningKey is the subscription's signing key, as Bird's dashboard
// shows it.
func (c *Carrier) SigningKey() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signingKey
}

// RotateKey gives the subscription a new signing key, as an admin does at
// Bird, and returns it.
func (c *Carrier) RotateKey() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.signingKey = newKey()
	return c.signingKey
}

// SetWebhookURLs points the subscription at Parley's URLs (as an admin
// does at Bird once the channel exists): inbound texts go to inbound,
// statuses to status.
func (c *Carrier) SetWebhookURLs(inbound, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inboundURL, c.statusURL = inbound, status
}

func (c *Carrier) webhookURLs() (inbound, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inboundURL, c.statusURL
}

// Close stops the webhooks in flight and waits for them.
func (c *Carrier) Close() { c.net.Close() }

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message { return c.net.Messages() }

// ServeHTTP serves the API under /workspaces/{workspace}/channels/{channel}.
func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "AccessKey "+c.cfg.AccessKey {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "the access key is missing or not valid")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/workspaces/"+c.cfg.Workspace+"/channels/")
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "workspace not found")
		return
	}
	seg := strings.Split(rest, "/")
	if !strings.EqualFold(seg[0], c.cfg.Channel) {
		writeError(w, http.StatusNotFound, "NotFound", "channel not found")
		return
	}
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		carriertest.WriteJSON(w, http.StatusOK, c.channel())
	case len(seg) == 2 && seg[1] == "messages" && r.Method == http.MethodPost:
		c.send(w, r)
	case len(seg) == 3 && seg[1] == "messages" && r.Method == http.MethodGet:
		c.fetch(w, seg[2])
	default:
		writeError(w, http.StatusNotFound, "NotFound", r.Method+" "+r.URL.Path)
	}
}

func (c *Carrier) channel() map[string]any {
	return map[string]any{"id": c.cfg.Channel, "platformId": "sms-messagebird", "name": "SMS " + c.cfg.Number,
		"connectorId": c.connector, "identifier": c.cfg.Number, "status": "active"}
}

func (c *Carrier) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Receiver struct {
			Contacts []struct {
				IdentifierValue string `json:"identifierValue"`
			} `json:"contacts"`
		} `json:"receiver"`
		Body struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
			Image struct {
				Text   string `json:"text"`
				Images []struct {
					MediaURL string `json:"mediaUrl"`
				} `json:"images"`
			} `json:"image"`
		} `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidPayload", err.Error())
		return
	}
	if len(in.Receiver.Contacts) != 1 || in.Receiver.Contacts[0].IdentifierValue == "" {
		writeError(w, http.StatusUnprocessableEntity, "InvalidPayload", "an SMS channel sends to exactly one contact")
		return
	}
	m := Message{From: c.cfg.Number, To: in.Receiver.Contacts[0].IdentifierValue, Status: "accepted"}
	switch b := in.Body; b.Type {
	case "text":
		m.Text = b.Text.Text
	case "image":
		m.Text = b.Image.Text
		for _, img := range b.Image.Images {
			m.Media = append(m.Media, img.MediaURL)
		}
	}
	if m.Text == "" && len(m.Media) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "InvalidPayload", "body must be a text or an image")
		return
	}
	_, m.WebhookURL = c.webhookURLs()
	m = c.net.Take(m)
	if c.cfg.HangUpOn[m.To] {
		carriertest.HangUp(w) // took it, but the answer never arrives
		return
	}
	carriertest.WriteJSON(w, http.StatusAccepted, c.resource(m))
	c.net.Deliver(m.ID, c.steps(m.To), func(ctx context.Context, m Message) {
		_, _ = c.post(ctx, m.WebhookURL, "sms.outbound", c.resource(m))
	})
}

// steps are the statuses a text to phone goes through.
func (c *Carrier) steps(phone string) []carriertest.Step {
	if code, ok := c.cfg.Fail[phone]; ok {
		return []carriertest.Step{{Status: "sending_failed", Code: code}}
	}
	final := carriertest.Step{Status: "delivered"}
	if code, ok := c.cfg.Undeliverable[phone]; ok {
		final = carriertest.Step{Status: "delivery_failed", Code: code}
	}
	return []carriertest.Step{{Status: "sent"}, final}
}

func (c *Carrier) fetch(w http.ResponseWriter, id string) {
	m, ok := c.net.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "message not found")
		return
	}
	carriertest.WriteJSON(w, http.StatusOK, c.resource(m))
}

// resource is an outgoing message as the API and the webhooks show it.
func (c *Carrier) resource(m Message) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	res := map[string]any{"id": m.ID, "channelId": c.cfg.Channel,
		"sender": map[string]any{"connector": map[string]any{"id": c.connector, "identifierValue": m.From}},
		"receiver": map[string]any{"contacts": []map[string]any{
			{"id": carriertest.NewID(), "identifierKey": "phonenumber", "identifierValue": m.To}}},
		"body": body(m.Text, m.Media), "parts": []map[string]any{{"platformReference": platformReference()}},
		"status": m.Status, "direction": "outgoing",
		"createdAt": m.At.UTC().Format(time.RFC3339Nano), "updatedAt": now, "lastStatusAt": now}
	if m.Code != 0 {
		res["reason"] = "details: unknown subscriber; reason: unknown_subscriber; code: 1"
		res["failure"] = map[string]any{"code": m.Code, "source": map[string]any{"name": "sms-messagebird", "code": "1"}}
	}
	return res
}

func body(text string, media []string) map[string]any {
	if len(media) == 0 {
		return map[string]any{"type": "text", "text": map[string]any{"text": text}}
	}
	images := []map[string]any{}
	for _, u := range media {
		images = append(images, map[string]any{"mediaUrl": u, "altText": ""})
	}
	return map[string]any{"type": "image", "image": map[string]any{"text": text, "images": images}}
}

func platformReference() string { return strings.ReplaceAll(carriertest.NewID(), "-", "") }

// SendInbound posts the text to Parley as sms.inbound, at the
// subscription's inbound URL, and returns Parley's HTTP status. The
// payload names the channel's connector, not its number, as Bird's does;
// in.To is not sent.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	inbound, _ := c.webhookURLs()
	if inbound == "" {
		return 0, errors.New("birdtest: the webhook subscription has no URL: set ParleyURL or InboundURL")
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	payload := map[string]any{"id": in.ID, "channelId": c.cfg.Channel,
		"sender":   map[string]any{"contact": map[string]any{"id": carriertest.NewID(), "identifierKey": "phonenumber", "identifierValue": in.From}},
		"receiver": map[string]any{"connector": map[string]any{"id": c.connector}},
		"body":     body(in.Text, in.Media), "parts": []map[string]any{{"platformReference": platformReference()}},
		"status": "delivered", "direction": "incoming", "createdAt": now, "updatedAt": now, "lastStatusAt": now}
	return c.post(ctx, inbound, "sms.inbound", payload)
}

// ServeControl serves the fake's own endpoints under prefix
// (carriertest.Controls); GET prefix/signing-key, what a channel needs;
// and POST prefix/subscription {"inbound", "status"}, which points the
// webhook subscription at other URLs.
func (c *Carrier) ServeControl(prefix string) http.Handler {
	controls := carriertest.Controls(prefix, c.cfg.Number, c.SendInbound, c.Messages, map[string]http.HandlerFunc{
		"signing-key": func(w http.ResponseWriter, _ *http.Request) {
			carriertest.WriteJSON(w, http.StatusOK, map[string]any{"signing_key": c.SigningKey(), "workspace_id": c.cfg.Workspace,
				"channel_id": c.cfg.Channel, "number": c.cfg.Number})
		},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != prefix+"/subscription" {
			controls.ServeHTTP(w, r)
			return
		}
		var urls struct{ Inbound, Status string }
		if err := json.NewDecoder(r.Body).Decode(&urls); err != nil || urls.Inbound == "" || urls.Status == "" {
			http.Error(w, `want {"inbound": URL, "status": URL}`, http.StatusBadRequest)
			return
		}
		c.SetWebhookURLs(urls.Inbound, urls.Status)
		w.WriteHeader(http.StatusNoContent)
	})
}

// post sends one signed event to a URL on Parley's public URL and returns
// the answer's status; nothing when the subscription has no URL.
func (c *Carrier) post(ctx context.Context, publicURL, eventName string, payload map[string]any) (int, error) {
	if publicURL == "" {
		return 0, nil
	}
	body, err := json.Marshal(map[string]any{"service": "channels", "event": eventName, "payload": payload})
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{bird.TimestampHeader: {ts}, bird.SignatureHeader: {Sign(c.SigningKey(), ts, publicURL, body)},
		"Messagebird-Request-Id": {carriertest.NewID()}}
	return carriertest.Post(ctx, c.cfg.HTTPClient, c.net.Reachable(publicURL), "application/json", body, h)
}

// Sign is Bird's signature of a webhook body posted to url: the adapter's
// own bird.Sign, here beside the fake as the other fakes have theirs.
func Sign(signingKey, timestamp, url string, body []byte) string {
	return bird.Sign(signingKey, timestamp, url, body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	carriertest.WriteJSON(w, status, map[string]any{"code": code, "message": message})
}
