package bird_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/bird/birdtest"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

const (
	accessKey     = "bird-access-key-0123456789abcdef"
	business      = "+14155550199"
	failing       = "+14155550111"
	undeliverable = "+14155550112"
)

func fakeConfig() birdtest.Config {
	return birdtest.Config{AccessKey: accessKey, Workspace: workspace, Channel: channelID, Number: business, SigningKey: signingKey,
		Fail: map[string]int{failing: 14001}, Undeliverable: map[string]int{undeliverable: birdtest.CodeUnknownSubscriber}}
}

func fakeBird(t *testing.T, cfg birdtest.Config) (*birdtest.Carrier, *bird.Adapter) {
	t.Helper()
	c := birdtest.New(cfg)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	return c, bird.New(srv.URL, time.Second)
}

func text(to string) campaigns.OutboundText {
	return campaigns.OutboundText{MessageID: 7, Carrier: "bird", CarrierAccountID: channelID, AuthToken: accessKey,
		Options: map[string]string{bird.OptionWorkspaceID: workspace}, From: business, To: to, Body: "Your technician is on the way",
		StatusCallbackURL: publicURL + "/webhooks/bird/" + channelID + "/status"}
}

// final asks for the text's status until it is final.
func final(t *testing.T, a *bird.Adapter, id string) campaigns.CarrierStatus {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s, err := a.CheckStatus(context.Background(), text(""), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status.Rank() == conversations.MessageDelivered.Rank() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s never final: %+v", id, s)
		}
	}
}

func TestSendAndCheckStatus(t *testing.T) {
	c, a := fakeBird(t, fakeConfig())
	ctx := context.Background()
	res, err := a.Send(ctx, text("+14155550100"))
	if err != nil || res.CarrierMessageID == "" || res.Status != string(conversations.MessageQueued) || res.Segments != 1 {
		t.Fatalf("Send = %+v, %v; want an id, queued (Bird's accepted), one part", res, err)
	}
	msgs := c.Messages()
	if len(msgs) != 1 || msgs[0].From != business || msgs[0].To != "+14155550100" || msgs[0].Text != "Your technician is on the way" {
		t.Fatalf("the carrier holds %+v", msgs)
	}
	if got := final(t, a, res.CarrierMessageID); got.Status != conversations.MessageDelivered || got.ErrorCode != nil || got.Unsubscribed {
		t.Errorf("CheckStatus = %+v; want delivered", got)
	}
	for _, tt := range []struct {
		to     string
		status conversations.MessageStatus
		code   int
	}{
		{failing, conversations.MessageFailed, 14001},
		{undeliverable, conversations.MessageUndelivered, birdtest.CodeUnknownSubscriber},
	} {
		res, err := a.Send(ctx, text(tt.to))
		if err != nil {
			t.Fatal(err)
		}
		got := final(t, a, res.CarrierMessageID)
		if got.Status != tt.status || got.ErrorCode == nil || *got.ErrorCode != tt.code || got.Unsubscribed {
			t.Errorf("a text to %s: %+v; want %s with code %d, not unsubscribed", tt.to, got, tt.status, tt.code)
		}
	}

	var se *campaigns.SendError
	if _, err := a.CheckStatus(ctx, text(""), "00000000-0000-4000-8000-000000000000"); !errors.As(err, &se) || se.HTTPStatus != http.StatusNotFound || se.Temporary {
		t.Errorf("CheckStatus of an unknown id = %v; want a final 404", err)
	}
	if _, err := a.CheckStatus(ctx, text(""), "../../channels"); !errors.As(err, &se) || se.Temporary || se.HTTPStatus != 0 {
		t.Errorf("CheckStatus of a path = %v; want refused before asking", err)
	}
	if _, _, err := a.Lookup(ctx, text("+14155550100"), time.Now().Add(-time.Minute)); !errors.Is(err, campaigns.ErrNoLookup) {
		t.Errorf("Lookup = %v; want ErrNoLookup", err)
	}
}

// The request is Bird's documented shape, with the access key; the
// status URL is not sent (Bird takes none), the reference is.
func TestSendRequest(t *testing.T) {
	var got struct {
		method, path, auth string
		body               map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.auth = r.Method, r.URL.Path, r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":"96a0b5fa-a986-453d-be5c-3117f989f025","status":"accepted","parts":[{},{}]}`)
	}))
	t.Cleanup(srv.Close)
	a := bird.New(srv.URL, time.Second)
	for _, tt := range []struct {
		name  string
		media []string
		body  string
	}{
		{"a text", nil, `{"text":{"text":"Your technician is on the way"},"type":"text"}`},
		{"a text with a photo", []string{"https://cdn.example/van.jpg"},
			`{"image":{"images":[{"mediaUrl":"https://cdn.example/van.jpg"}],"text":"Your technician is on the way"},"type":"image"}`},
	} {
		tx := text("+14155550100")
		tx.MediaURLs = tt.media
		res, err := a.Send(context.Background(), tx)
		if err != nil || res.CarrierMessageID != "96a0b5fa-a986-453d-be5c-3117f989f025" || res.Segments != 2 {
			t.Fatalf("%s: Send = %+v, %v", tt.name, res, err)
		}
		body, _ := json.Marshal(got.body["body"])
		receiver, _ := json.Marshal(got.body["receiver"])
		if got.method != http.MethodPost || got.path != "/workspaces/"+workspace+"/channels/"+channelID+"/messages" ||
			got.auth != "AccessKey "+accessKey || string(body) != tt.body ||
			string(receiver) != `{"contacts":[{"identifierValue":"+14155550100"}]}` || got.body["reference"] != "parley:7" || len(got.body) != 3 {
			t.Errorf("%s: %s %s (%s) %v", tt.name, got.method, got.path, got.auth, got.body)
		}
	}
}

func TestSendRefusals(t *testing.T) {
	_, a := fakeBird(t, fakeConfig())
	wrongKey, wrongWorkspace, noWorkspace := text("+14155550100"), text("+14155550100"), text("+14155550100")
	wrongKey.AuthToken = "not-the-access-key"
	wrongWorkspace.Options = map[string]string{bird.OptionWorkspaceID: "9b1c2d3e-4f50-4a61-8b72-c3d4e5f60718"}
	noWorkspace.Options = nil
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"code":"TooManyRequests","message":"rate limit exceeded"}`)
	}))
	t.Cleanup(busy.Close)
	for _, tt := range []struct {
		name      string
		a         *bird.Adapter
		text      campaigns.OutboundText
		status    int
		message   string
		temporary bool
	}{
		{"a key Bird refuses", a, wrongKey, http.StatusUnauthorized, "Unauthorized", false},
		{"another workspace", a, wrongWorkspace, http.StatusNotFound, "NotFound", false},
		{"no workspace", a, noWorkspace, 0, "workspace", false},
		{"rate limited", bird.New(busy.URL, time.Second), text("+14155550100"), http.StatusTooManyRequests, "TooManyRequests: rate limit exceeded", true},
	} {
		_, err := tt.a.Send(context.Background(), tt.text)
		var se *campaigns.SendError
		if !errors.As(err, &se) || se.HTTPStatus != tt.status || !strings.Contains(se.Message, tt.message) || se.Temporary != tt.temporary || se.Unsubscribed {
			t.Errorf("%s: %#v; want http %d %q temporary %v", tt.name, err, tt.status, tt.message, tt.temporary)
		}
	}
	// No answer at all leaves the text's fate unknown.
	down := bird.New("http://127.0.0.1:1", time.Second)
	var se *campaigns.SendError
	if _, err := down.Send(context.Background(), text("+14155550100")); !errors.As(err, &se) || !se.Temporary || se.HTTPStatus != 0 || !se.NotSent {
		t.Errorf("a carrier that cannot be reached: %#v; want temporary, no HTTP status, never sent", err)
	}
	// One that takes the text and drops the connection may have it: not
	// NotSent, so the retry looks it up (here it cannot, and fails).
	hangUp := fakeConfig()
	hangUp.HangUpOn = map[string]bool{"+14155550100": true}
	c, a := fakeBird(t, hangUp)
	if _, err := a.Send(context.Background(), text("+14155550100")); !errors.As(err, &se) || !se.Temporary || se.NotSent || se.HTTPStatus != 0 {
		t.Errorf("a carrier that hung up: %#v; want temporary and perhaps sent", err)
	}
	if len(c.Messages()) != 1 {
		t.Errorf("the carrier holds %d texts; want the one it took before hanging up", len(c.Messages()))
	}
}

func channel() conversations.Channel {
	return conversations.Channel{Carrier: "bird", PhoneNumber: business, CarrierAccountID: channelID, AuthToken: accessKey,
		WebhookSecret: signingKey, Options: map[string]string{bird.OptionWorkspaceID: workspace}}
}

func TestVerifyChannel(t *testing.T) {
	_, a := fakeBird(t, fakeConfig())
	if err := a.VerifyChannel(context.Background(), channel()); err != nil {
		t.Fatalf("VerifyChannel = %v", err)
	}
	whatsApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		carriertest.WriteJSON(w, http.StatusOK, map[string]any{"id": channelID, "platformId": "whatsapp", "identifier": business})
	}))
	t.Cleanup(whatsApp.Close)
	for _, tt := range []struct {
		name   string
		a      *bird.Adapter
		change func(*conversations.Channel)
		code   string
		field  string
	}{
		{"a key Bird refuses", a, func(c *conversations.Channel) { c.AuthToken = "not-the-access-key" }, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{"a channel not in the workspace", a, func(c *conversations.Channel) { c.CarrierAccountID = "6d2e3f40-5b6c-4d7e-8f90-ab1c2d3e4f50" },
			conversations.CodeNumberNotOnCarrierAccount, "account_id"},
		{"another workspace", a, func(c *conversations.Channel) {
			c.Options = map[string]string{bird.OptionWorkspaceID: "9b1c2d3e-4f50-4a61-8b72-c3d4e5f60718"}
		}, conversations.CodeNumberNotOnCarrierAccount, "account_id"},
		{"another number", a, func(c *conversations.Channel) { c.PhoneNumber = "+14155550000" }, conversations.CodeNumberNotOnCarrierAccount, "phone_number"},
		{"a WhatsApp channel", bird.New(whatsApp.URL, time.Second), func(*conversations.Channel) {}, conversations.CodeNumberNotOnCarrierAccount, "account_id"},
	} {
		bad := channel()
		tt.change(&bad)
		var pe *parley.Error
		if err := tt.a.VerifyChannel(context.Background(), bad); !errors.As(err, &pe) || pe.Kind != parley.EINVALID || pe.Code != tt.code || pe.Fields[tt.field] == "" {
			t.Errorf("%s: %v; want %s naming %s", tt.name, err, tt.code, tt.field)
		}
	}
	down := bird.New("http://127.0.0.1:1", time.Second)
	if err := down.VerifyChannel(context.Background(), channel()); !parley.IsKind(err, parley.EUPSTREAM) {
		t.Errorf("a carrier that does not answer: %v; want 502", err)
	}
}

func TestCheckChannel(t *testing.T) {
	a := bird.New("", 0)
	good := channel()
	good.CarrierAccountID = strings.ToUpper(channelID)
	good.Options = map[string]string{bird.OptionWorkspaceID: strings.ToUpper(workspace)}
	if bad := a.CheckChannel(&good); len(bad) != 0 || good.CarrierAccountID != channelID || good.Options[bird.OptionWorkspaceID] != workspace {
		t.Errorf("CheckChannel = %v, %s, %v; want none and the ids in lower case", bad, good.CarrierAccountID, good.Options)
	}
	for _, tt := range []struct {
		change func(*conversations.Channel)
		field  string
	}{
		{func(c *conversations.Channel) { c.CarrierAccountID = "ACe2e00000000000000000000000000001" }, "account_id"},
		{func(c *conversations.Channel) { c.WebhookSecret = "" }, "webhook_secret"},
		{func(c *conversations.Channel) { c.WebhookSecret = "short" }, "webhook_secret"},
		{func(c *conversations.Channel) { c.PhoneNumber, c.MessagingServiceSID = "", "MG1" }, "phone_number"},
		{func(c *conversations.Channel) { c.MessagingServiceSID = "MG1" }, "messaging_service_sid"},
		{func(c *conversations.Channel) { c.Options = nil }, "options.workspace_id"},
		{func(c *conversations.Channel) { c.Options = map[string]string{bird.OptionWorkspaceID: "my-workspace"} }, "options.workspace_id"},
		{func(c *conversations.Channel) {
			c.Options = map[string]string{bird.OptionWorkspaceID: workspace, "application_id": "x"}
		}, "options.application_id"},
	} {
		c := channel()
		tt.change(&c)
		if bad := a.CheckChannel(&c); bad[tt.field] == "" {
			t.Errorf("CheckChannel(%+v) = %v; want %s named", c, bad, tt.field)
		}
	}
}

// parley is a stand-in for Parley's webhook handler: the adapter's four
// steps, over the public URL, with one channel.
type parleyStub struct {
	a  *bird.Adapter
	mu sync.Mutex
	ch conversations.Channel
	// what it took
	texts    []conversations.InboundText
	statuses []carrier.Receipt
}

func (p *parleyStub) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/webhooks/bird/"), "/")
	if len(parts) != 2 {
		http.NotFound(rw, r)
		return
	}
	w := &carrier.Webhook{Kind: carrier.Kind(parts[1]), URL: publicURL + r.URL.RequestURI(), Header: r.Header, Key: parts[0]}
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.a.ReadWebhook(r, w)
	if err == nil && w.AccountID != p.ch.CarrierAccountID {
		err = parley.Errorf(parley.ENOTFOUND, "no channel")
	}
	if err == nil {
		err = p.a.Authenticate(w, p.ch, time.Now())
	}
	var rep carrier.Report
	if err == nil {
		rep, err = p.a.Parse(w)
	}
	if err != nil {
		rw.WriteHeader(parley.HTTPStatus(parley.ErrorKind(err)))
		return
	}
	p.texts = append(p.texts, rep.Texts...)
	p.statuses = append(p.statuses, rep.Statuses...)
	p.a.Acknowledge(rw, w)
}

func (p *parleyStub) took() ([]conversations.InboundText, []carrier.Receipt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]conversations.InboundText(nil), p.texts...), append([]carrier.Receipt(nil), p.statuses...)
}

// The fake's webhooks are Bird's as the adapter reads them: signed over
// Parley's public URL, posted to where Parley listens.
func TestFakeWebhooks(t *testing.T) {
	stub := &parleyStub{a: bird.New("", 0), ch: channel()}
	parleySrv := httptest.NewServer(stub)
	t.Cleanup(parleySrv.Close)
	cfg := fakeConfig()
	cfg.SigningKey = "" // the fake makes one
	cfg.ParleyURL, cfg.PublicURL = parleySrv.URL, publicURL
	c, a := fakeBird(t, cfg)
	stub.mu.Lock()
	stub.ch.WebhookSecret = c.SigningKey()
	stub.mu.Unlock()
	ctx := context.Background()

	status, err := c.SendInbound(ctx, birdtest.Inbound{ID: "in-1", From: "+14155550100", Text: "Is the plumber coming?"})
	if err != nil || status != http.StatusOK {
		t.Fatalf("SendInbound = %d, %v; want 200", status, err)
	}
	status, err = c.SendInbound(ctx, birdtest.Inbound{ID: "in-2", From: "+14155550100", Media: []string{"https://media.api.bird.com/m/1"}})
	if err != nil || status != http.StatusOK {
		t.Fatalf("SendInbound with media = %d, %v; want 200", status, err)
	}
	texts, _ := stub.took()
	if len(texts) != 2 || texts[0].CarrierMessageID != "in-1" || texts[0].From != "+14155550100" || texts[0].Body != "Is the plumber coming?" ||
		len(texts[1].MediaURLs) != 1 || texts[1].MediaURLs[0] != "https://media.api.bird.com/m/1" {
		t.Errorf("Parley took %+v", texts)
	}

	// A text out: its statuses come to the channel's status URL.
	res, err := a.Send(ctx, text("+14155550100"))
	if err != nil {
		t.Fatal(err)
	}
	failed, err := a.Send(ctx, text(failing))
	if err != nil {
		t.Fatal(err)
	}
	want := []carrier.Receipt{
		{CarrierMessageID: res.CarrierMessageID, Status: conversations.MessageSent},
		{CarrierMessageID: res.CarrierMessageID, Status: conversations.MessageDelivered},
		{CarrierMessageID: failed.CarrierMessageID, Status: conversations.MessageFailed, ErrorCode: 14001},
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, got := stub.took()
		if len(got) == len(want) {
			for _, w := range want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("receipts = %+v; want %+v among them", got, w)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipts = %+v; want %+v", got, want)
		}
	}

	// A key rotated at Bird is refused until the channel has it.
	stub.mu.Lock()
	old := stub.ch.WebhookSecret
	stub.mu.Unlock()
	if c.RotateKey() == old {
		t.Fatal("RotateKey kept the key")
	}
	if status, err := c.SendInbound(ctx, birdtest.Inbound{From: "+14155550100", Text: "sent with the new key"}); err != nil || status != http.StatusForbidden {
		t.Errorf("a webhook signed with a key the channel does not have: %d, %v; want 403", status, err)
	}
	// A subscription pointed at another channel's URL is refused there.
	c.SetWebhookURLs(publicURL+"/webhooks/bird/6d2e3f40-5b6c-4d7e-8f90-ab1c2d3e4f50/messages", publicURL+"/webhooks/bird/x/status")
	if status, err := c.SendInbound(ctx, birdtest.Inbound{From: "+14155550100", Text: "lost"}); err != nil || status != http.StatusNotFound {
		t.Errorf("a text posted to another channel's URL: %d, %v; want 404", status, err)
	}
}

// The fake's control endpoints: a phone texts Parley, the texts taken are
// listed, the signing key is shown.
func TestFakeControls(t *testing.T) {
	stub := &parleyStub{a: bird.New("", 0), ch: channel()}
	parleySrv := httptest.NewServer(stub)
	t.Cleanup(parleySrv.Close)
	cfg := fakeConfig()
	cfg.ParleyURL = parleySrv.URL
	cfg.PublicURL = publicURL
	c, _ := fakeBird(t, cfg)
	controls := httptest.NewServer(c.ServeControl("/fake/bird"))
	t.Cleanup(controls.Close)

	res, err := http.Post(controls.URL+"/fake/bird/inbound", "application/json", strings.NewReader(`{"from":"+14155550100","text":"Hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Status int `json:"parley_status"`
	}
	_ = json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	if texts, _ := stub.took(); answer.Status != http.StatusOK || len(texts) != 1 {
		t.Errorf("POST inbound: parley_status %d, Parley took %+v", answer.Status, texts)
	}
	res, err = http.Get(controls.URL + "/fake/bird/signing-key")
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	_ = json.NewDecoder(res.Body).Decode(&key)
	res.Body.Close()
	if key["signing_key"] != signingKey || key["channel_id"] != channelID || key["workspace_id"] != workspace || key["number"] != business {
		t.Errorf("GET signing-key = %v", key)
	}
	res, err = http.Post(controls.URL+"/fake/bird/subscription", "application/json", strings.NewReader(`{"inbound":"`+publicURL+`/elsewhere","status":"`+publicURL+`/elsewhere"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if status, err := c.SendInbound(context.Background(), birdtest.Inbound{From: "+14155550100", Text: "Hi"}); res.StatusCode != http.StatusNoContent || err != nil || status != http.StatusNotFound {
		t.Errorf("after POST subscription (%d), a text went to %d, %v; want the new URL (404 here)", res.StatusCode, status, err)
	}
}
