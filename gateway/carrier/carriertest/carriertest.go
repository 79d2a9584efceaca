// Package carriertest is what the fake carriers (gateway/*/…test) share:
// the phones' side of the network. It keeps the texts a fake took, plays
// their delivery step by step after a delay, and turns the URLs Parley
// gives (on its public URL) into ones the fake can reach. Each fake adds
// its carrier's API and its way of encoding and signing webhooks.
package carriertest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Message is a text a fake carrier took.
type Message struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	Status     string    `json:"status"`
	Media      []string  `json:"media_urls,omitempty"`
	WebhookURL string    `json:"webhook_url,omitempty"`
	Code       int       `json:"error_code,omitempty"` // the error the carrier failed it with
	At         time.Time `json:"created_at"`
}

// Step is one status a text moves to, with its error code.
type Step struct {
	Status string
	Code   int
}

// Network holds the texts and plays their delivery.
type Network struct {
	// ParleyURL is where Parley listens; PublicURL is what Parley calls
	// itself in the URLs it gives.
	ParleyURL, PublicURL string
	// StatusDelay is waited before each step.
	StatusDelay time.Duration

	mu     sync.Mutex
	closed bool
	msgs   map[string]*Message
	order  []string
	wg     sync.WaitGroup
	ctx    context.Context
	stop   context.CancelFunc
}

// NewNetwork returns an empty network.
func NewNetwork(parleyURL, publicURL string, statusDelay time.Duration) *Network {
	ctx, stop := context.WithCancel(context.Background())
	return &Network{ParleyURL: strings.TrimRight(parleyURL, "/"), PublicURL: strings.TrimRight(publicURL, "/"),
		StatusDelay: statusDelay, msgs: map[string]*Message{}, ctx: ctx, stop: stop}
}

// Context ends when the network closes: webhooks in flight use it.
func (n *Network) Context() context.Context { return n.ctx }

// Take keeps a text (a fresh id when it has none) and returns it.
func (n *Network) Take(m Message) Message {
	if m.ID == "" {
		m.ID = NewID()
	}
	if m.At.IsZero() {
		m.At = time.Now()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs[m.ID] = &m
	n.order = append(n.order, m.ID)
	return m
}

// Get returns the text with id.
func (n *Network) Get(id string) (Message, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.msgs[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Messages returns the texts taken, oldest first.
func (n *Network) Messages() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Message, 0, len(n.order))
	for _, id := range n.order {
		out = append(out, *n.msgs[id])
	}
	return out
}

// Deliver moves the text through steps, StatusDelay before each, and
// hands each state to post (which sends the carrier's webhook), in the
// background until the network closes.
func (n *Network) Deliver(id string, steps []Step, post func(ctx context.Context, m Message)) {
	// Added under the lock Close takes first: a text taken while the
	// network closes is not delivered, and Close never waits on a
	// delivery it did not count.
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		for _, s := range steps {
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(n.StatusDelay):
			}
			n.mu.Lock()
			m := n.msgs[id]
			m.Status, m.Code = s.Status, s.Code
			snap := *m
			n.mu.Unlock()
			post(n.ctx, snap)
		}
	}()
}

// Close stops the deliveries and waits for them.
func (n *Network) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.stop()
	n.wg.Wait()
}

// Reachable turns a URL on Parley's public URL into one on ParleyURL.
func (n *Network) Reachable(u string) string {
	if n.PublicURL != "" && strings.HasPrefix(u, n.PublicURL) {
		return n.ParleyURL + strings.TrimPrefix(u, n.PublicURL)
	}
	return u
}

// NewID is a random UUID (version 4), as most carriers' ids are.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Post sends one webhook and returns the answer's status.
func Post(ctx context.Context, client *http.Client, url, contentType string, body []byte, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// Inbound is a text a phone sends to a business number. An empty ID gets
// a fresh one; a fixed one makes a resend a duplicate.
type Inbound struct {
	ID    string   `json:"id"`
	From  string   `json:"from"`
	To    string   `json:"to"`
	Text  string   `json:"text"`
	Media []string `json:"media_urls"`
}

// Controls serves a fake's own endpoints under prefix: POST prefix/inbound
// {"from","to"?,"text","id"?} has a phone text Parley through send (to
// defaultTo when "to" is missing) and answers Parley's status; GET
// prefix/messages lists the texts taken; extra adds GET endpoints by name.
func Controls(prefix, defaultTo string, send func(context.Context, Inbound) (int, error), messages func() []Message,
	extra map[string]http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, prefix+"/")
		switch {
		case r.Method == http.MethodPost && name == "inbound":
			var in Inbound
			// A field of another fake ("body") is refused, not sent on
			// as an empty text.
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				http.Error(w, `want a JSON object of "from", "to", "text", "id" and "media_urls": `+err.Error(), http.StatusBadRequest)
				return
			}
			if in.To == "" {
				in.To = defaultTo
			}
			status, err := send(r.Context(), in)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			WriteJSON(w, http.StatusOK, map[string]any{"parley_status": status})
		case r.Method == http.MethodGet && name == "messages":
			WriteJSON(w, http.StatusOK, map[string]any{"data": messages()})
		case r.Method == http.MethodGet && extra[name] != nil:
			extra[name](w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// HangUp drops the connection without an answer, as a carrier that took
// a text and then crashed (or a network that lost its answer) does: the
// sender cannot tell whether the text went.
func HangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
