// Package vonagetest is a fake Vonage for tests, demos and benchmarks:
// the SMS API's send and the account's number list, and the phones' side,
// which posts signed webhooks as Vonage does: a delivery receipt for each
// part of each text, and inbound texts, split into parts when long, as
// forms or as JSON (SMS API, signed with sig) or as the Messages API's
// JSON (signed with a JWT).
package vonagetest

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

// Config describes the fake's one account.
type Config struct {
	APIKey, APISecret string
	// SignatureSecret signs the webhooks by Method (md5hash when empty).
	SignatureSecret, Method string
	Numbers                 []string
	// JSON posts the SMS API's webhooks as JSON (POST-JSON) instead of
	// forms.
	JSON bool
	// ParleyURL is where Parley listens; PublicURL is what Parley calls
	// itself in the callback URLs it gives, which the fake rewrites.
	ParleyURL, PublicURL string
	StatusDelay          time.Duration
	// Unsubscribed numbers opted out with Vonage: texts to them are
	// accepted, then failed with err-code 9.
	Unsubscribed map[string]bool
	// HangUpOn numbers: the fake takes texts to them but drops the
	// connection instead of answering.
	HangUpOn   map[string]bool
	HTTPClient *http.Client
}

// Message is a text the fake took.
type Message = carriertest.Message

// CodeUnsubscribed is the receipts' err-code 9, "Illegal Number".
const CodeUnsubscribed = 9

// PartLength is the characters of one part of a long inbound text.
const PartLength = 153

// Carrier is the fake. It is an http.Handler for the API.
type Carrier struct {
	cfg    Config
	net    *carriertest.Network
	mu     sync.Mutex
	refs   map[string]string // message id → client-ref
	secret string            // signs webhooks; RotateSecret replaces it
}

// New returns a fake.
func New(cfg Config) *Carrier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Carrier{cfg: cfg, net: carriertest.NewNetwork(cfg.ParleyURL, cfg.PublicURL, cfg.StatusDelay), refs: map[string]string{},
		secret: cfg.SignatureSecret}
}

// RotateSecret gives the account a new signature secret, as the
// dashboard does, and returns it.
func (c *Carrier) RotateSecret() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secret = "rotated-" + carriertest.NewID()
	return c.secret
}

func (c *Carrier) signatureSecret() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.secret
}

// Close stops the webhooks in flight and waits for them.
func (c *Carrier) Close() { c.net.Close() }

// Messages returns the texts taken, oldest first.
func (c *Carrier) Messages() []Message { return c.net.Messages() }

// ServeHTTP serves the API.
func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/sms/json":
		c.send(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/account/numbers":
		c.numbers(w, r.URL.Query())
	default:
		carriertest.WriteJSON(w, http.StatusNotFound, map[string]any{"error-code": "404", "error-code-label": r.Method + " " + r.URL.Path})
	}
}

func (c *Carrier) send(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		refuse(w, "3", "Invalid Parameters: "+err.Error())
		return
	}
	switch {
	case in["api_key"] != c.cfg.APIKey || in["api_secret"] != c.cfg.APISecret:
		refuse(w, "4", "Bad Credentials")
		return
	case !slices.Contains(c.cfg.Numbers, "+"+in["from"]):
		refuse(w, "15", "Illegal Sender Address - rejected")
		return
	case in["to"] == "" || in["text"] == "":
		refuse(w, "2", "Missing to or text")
		return
	}
	m := c.net.Take(Message{From: "+" + in["from"], To: "+" + in["to"], Text: in["text"], Status: "accepted", WebhookURL: in["callback"]})
	c.mu.Lock()
	c.refs[m.ID] = in["client-ref"]
	c.mu.Unlock()
	if c.cfg.HangUpOn[m.To] {
		carriertest.HangUp(w)
		return
	}
	parts := (len([]rune(m.Text)) + PartLength - 1) / PartLength
	if len([]rune(m.Text)) <= 160 {
		parts = 1
	}
	entries := make([]map[string]any, parts)
	for i := range entries {
		entries[i] = map[string]any{"to": in["to"], "message-id": partID(m.ID, i), "status": "0", "remaining-balance": "10.00", "message-price": "0.0068", "network": "310260"}
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"message-count": strconv.Itoa(parts), "messages": entries})
	final := carriertest.Step{Status: "delivered"}
	if c.cfg.Unsubscribed[m.To] {
		final = carriertest.Step{Status: "failed", Code: CodeUnsubscribed}
	}
	c.net.Deliver(m.ID, []carriertest.Step{{Status: "accepted"}, final}, func(ctx context.Context, m Message) {
		if m.WebhookURL == "" {
			return
		}
		for i := range parts {
			_, _ = c.postSMS(ctx, c.net.Reachable(m.WebhookURL), c.receipt(m, partID(m.ID, i)))
		}
	})
}

// partID is the id of a text's part i (the first part's is the text's).
func partID(id string, i int) string {
	if i == 0 {
		return id
	}
	return fmt.Sprintf("%s-%d", id, i+1)
}

func (c *Carrier) receipt(m Message, id string) map[string]string {
	c.mu.Lock()
	ref := c.refs[m.ID]
	c.mu.Unlock()
	p := map[string]string{"msisdn": strings.TrimPrefix(m.To, "+"), "to": strings.TrimPrefix(m.From, "+"), "network-code": "310260",
		"messageId": id, "price": "0.0068", "status": m.Status, "scts": time.Now().UTC().Format("0601021504"),
		"err-code": strconv.Itoa(m.Code), "message-timestamp": time.Now().UTC().Format(time.DateTime), "api-key": c.cfg.APIKey}
	if ref != "" {
		p["client-ref"] = ref
	}
	return p
}

func refuse(w http.ResponseWriter, status, words string) {
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"message-count": "1", "messages": []map[string]any{{"status": status, "error-text": words}}})
}

func (c *Carrier) numbers(w http.ResponseWriter, q url.Values) {
	if q.Get("api_key") != c.cfg.APIKey || q.Get("api_secret") != c.cfg.APISecret {
		carriertest.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error-code": "401", "error-code-label": "authentication failed"})
		return
	}
	found := []map[string]any{}
	for _, n := range c.cfg.Numbers {
		if d := strings.TrimPrefix(n, "+"); strings.HasPrefix(d, q.Get("pattern")) {
			found = append(found, map[string]any{"country": "US", "msisdn": d, "type": "mobile-lvn", "features": []string{"VOICE", "SMS"}})
		}
	}
	carriertest.WriteJSON(w, http.StatusOK, map[string]any{"count": len(found), "numbers": found})
}

// Inbound is a text a phone sends to one of the account's numbers.
type Inbound = carriertest.Inbound

// SendInbound posts the text to Parley as the SMS API does: one webhook,
// or one a part when it is longer than 160 characters (the last part
// first, as parts arrive in any order). It returns Parley's status for
// the last webhook, or the first that was not 2xx.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	base := map[string]string{"msisdn": strings.TrimPrefix(in.From, "+"), "to": strings.TrimPrefix(in.To, "+"), "messageId": in.ID,
		"text": in.Text, "type": "text", "keyword": strings.ToUpper(strings.Fields(in.Text + " x")[0]),
		"message-timestamp": time.Now().UTC().Format(time.DateTime), "api-key": c.cfg.APIKey}
	runes := []rune(in.Text)
	if len(runes) <= 160 {
		return c.postSMS(ctx, c.inboundURL(), base)
	}
	ref, _ := rand.Int(rand.Reader, big.NewInt(256))
	total := (len(runes) + PartLength - 1) / PartLength
	for n := total; n >= 1; n-- {
		p := maps.Clone(base)
		p["messageId"], p["text"] = partID(in.ID, n-1), string(runes[(n-1)*PartLength:min(n*PartLength, len(runes))])
		p["concat"], p["concat-ref"], p["concat-total"], p["concat-part"] = "true", ref.String(), strconv.Itoa(total), strconv.Itoa(n)
		status, err := c.postSMS(ctx, c.inboundURL(), p)
		if err != nil || status/100 != 2 || n == 1 {
			return status, err
		}
	}
	return 0, nil
}

// SendInboundMessagesAPI posts the text as the Messages API does: JSON,
// whole, signed with a JWT over the body's hash.
func (c *Carrier) SendInboundMessagesAPI(ctx context.Context, in Inbound) (int, error) {
	if in.ID == "" {
		in.ID = carriertest.NewID()
	}
	body, err := json.Marshal(map[string]any{"channel": "sms", "message_uuid": in.ID, "to": strings.TrimPrefix(in.To, "+"),
		"from": strings.TrimPrefix(in.From, "+"), "timestamp": time.Now().UTC().Format(time.RFC3339), "text": in.Text, "message_type": "text",
		"sms": map[string]any{"num_messages": "1"}})
	if err != nil {
		return 0, err
	}
	return carriertest.Post(ctx, c.cfg.HTTPClient, c.inboundURL(), "application/json", body, http.Header{"Authorization": {"Bearer " + c.Token(body, time.Now())}})
}

// Token is the Messages API's JWT for a webhook body, issued at.
func (c *Carrier) Token(body []byte, at time.Time) string {
	sum := sha256.Sum256(body)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iat": at.Unix(), "jti": carriertest.NewID(), "iss": "Vonage",
		"payload_hash": hex.EncodeToString(sum[:]), "api_key": c.cfg.APIKey, "application_id": carriertest.NewID()})
	s, _ := tok.SignedString([]byte(c.signatureSecret()))
	return s
}

func (c *Carrier) inboundURL() string {
	return c.net.ParleyURL + "/webhooks/vonage/" + c.cfg.APIKey + "/messages"
}

// postSMS signs the SMS API's parameters and posts them, as a form or as
// JSON.
func (c *Carrier) postSMS(ctx context.Context, u string, p map[string]string) (int, error) {
	nonce := carriertest.NewID()
	p["timestamp"], p["nonce"] = strconv.FormatInt(time.Now().Unix(), 10), nonce
	p["sig"] = Sign(p, c.signatureSecret(), c.cfg.Method)
	if c.cfg.JSON {
		body, err := json.Marshal(p)
		if err != nil {
			return 0, err
		}
		return carriertest.Post(ctx, c.cfg.HTTPClient, u, "application/json", body, nil)
	}
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	return carriertest.Post(ctx, c.cfg.HTTPClient, u, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
}

// Sign is Vonage's sig over params (sig itself left out) with the
// signature secret, by method: md5hash (the default) or an HMAC.
func Sign(params map[string]string, secret, method string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var s strings.Builder
	for _, k := range names {
		s.WriteString("&" + k + "=" + strings.NewReplacer("&", "_", "=", "_").Replace(params[k]))
	}
	mac := map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}[method]
	if mac == nil {
		sum := md5.Sum([]byte(s.String() + secret))
		return strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	h := hmac.New(mac, []byte(secret))
	h.Write([]byte(s.String()))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// ServeControl serves the fake's own endpoints under prefix
// (carriertest.Controls), and GET prefix/account, what a channel needs.
func (c *Carrier) ServeControl(prefix string) http.Handler {
	first := ""
	if len(c.cfg.Numbers) > 0 {
		first = c.cfg.Numbers[0]
	}
	return carriertest.Controls(prefix, first, c.SendInbound, c.Messages, map[string]http.HandlerFunc{
		"account": func(w http.ResponseWriter, _ *http.Request) {
			carriertest.WriteJSON(w, http.StatusOK, map[string]any{"api_key": c.cfg.APIKey, "signature_method": c.cfg.Method, "numbers": c.cfg.Numbers})
		},
	})
}
