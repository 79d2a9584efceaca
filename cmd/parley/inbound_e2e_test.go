package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

func TestInboundTextStartsAThread(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)

	res := e.text("+14155550100", "Hi, is my order ready?")
	if got := res.Body; got != `<?xml version="1.0" encoding="UTF-8"?><Response></Response>` {
		t.Errorf("webhook answer = %q, want empty TwiML", got)
	}
	e.text("(415) 555-0100", "Also, can I change the address?")

	list := e.must(200, e.admin("GET", "/v1/conversations", nil))
	convs := list["data"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations = %d, want 1 thread for one phone", len(convs))
	}
	c := convs[0].(map[string]any)
	if c["status"] != "new" || c["contact_phone"] != "+14155550100" || c["business_phone"] != business || c["opted_out"] != false {
		t.Errorf("conversation = %v", c)
	}
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", c["id"]), nil))["data"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %d, want 2", len(msgs))
	}
	first := msgs[0].(map[string]any)
	if first["body"] != "Hi, is my order ready?" || first["direction"] != "inbound" || first["status"] != "received" {
		t.Errorf("first message = %v (want oldest first)", first)
	}

	contact := c["contact"].(map[string]any)
	threads := e.must(200, e.admin("GET", fmt.Sprintf("/v1/contacts/%s/conversations", contact["id"]), nil))["data"].([]any)
	if len(threads) != 1 {
		t.Errorf("contact conversations = %d, want 1", len(threads))
	}
}

func TestContactWithTwoPhonesHasTwoThreads(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	contact := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Ada", "phones": []string{"+14155550101", "+14155550102"}}))

	e.text("+14155550101", "from my mobile")
	e.text("+14155550102", "from my work phone")

	threads := e.must(200, e.admin("GET", fmt.Sprintf("/v1/contacts/%s/conversations", contact["id"]), nil))["data"].([]any)
	if len(threads) != 2 {
		t.Fatalf("threads = %d, want one per phone", len(threads))
	}
	for _, th := range threads {
		c := th.(map[string]any)
		if c["contact"].(map[string]any)["name"] != "Ada" {
			t.Errorf("thread %v not linked to the existing contact", c)
		}
	}
}

func TestRepeatedMessageSidIsANoOp(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	in := twiliotest.Inbound{AccountSid: accountSID, From: "+14155550100", To: business, Body: "once", MessageSid: "SM00000000000000000000000000000001"}
	for i := 0; i < 3; i++ {
		res, err := e.carrier.SendInbound(context.Background(), in)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("attempt %d: %v %v", i, res, err)
		}
	}
	convs := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)
	id := convs[0].(map[string]any)["id"]
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", id), nil))["data"].([]any)
	if len(msgs) != 1 {
		t.Errorf("messages = %d after a retried webhook, want 1", len(msgs))
	}
}

func TestInboundMediaAndSegmentsAreKept(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	_, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: "+14155550100", To: business,
		Body: "photo of the damage", MediaURLs: []string{"https://api.twilio.com/media/ME1.jpg", "https://api.twilio.com/media/ME2.jpg"},
		ExtraParams: url.Values{"FromCity": {"SAN FRANCISCO"}, "SomethingTwilioAddedLater": {"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	convs := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", convs[0].(map[string]any)["id"]), nil))["data"].([]any)
	m := msgs[0].(map[string]any)
	media := m["media_urls"].([]any)
	if len(media) != 2 || media[1] != "https://api.twilio.com/media/ME2.jpg" {
		t.Errorf("media_urls = %v", media)
	}
	if m["segments"].(float64) < 1 {
		t.Errorf("segments = %v", m["segments"])
	}
}

// TestInboundMediaAreCappedAtTen: a text claiming more attachments than
// Twilio allows keeps Twilio's ten, the first ones.
func TestInboundMediaAreCappedAtTen(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	var media []string
	for i := range 12 {
		media = append(media, fmt.Sprintf("https://api.twilio.com/media/ME%d.jpg", i))
	}
	res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: "+14155550100", To: business,
		Body: "too many photos", MediaURLs: media})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook: %v %d %s", err, res.StatusCode, res.Body)
	}
	convs := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", convs[0].(map[string]any)["id"]), nil))["data"].([]any)
	got := msgs[0].(map[string]any)["media_urls"].([]any)
	if len(got) != 10 || got[9] != media[9] {
		t.Errorf("media_urls = %v, want the first 10 of 12", got)
	}
}

// webhookPost posts a raw form to a webhook path, signed with token over
// the public URL when sign is true.
func (e *env) webhookPost(path string, form url.Values, token string, sign bool) response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign {
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, publicURL+path, form))
	}
	res, err := checkedClient(e.t).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf strings.Builder
	_, _ = fmt.Fprint(&buf, "")
	raw := make([]byte, 0)
	b := make([]byte, 4096)
	for {
		n, err := res.Body.Read(b)
		raw = append(raw, b[:n]...)
		if err != nil {
			break
		}
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func inboundForm(from, body, sid string) url.Values {
	return url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {accountSID}, "From": {from}, "To": {business},
		"Body": {body}, "NumSegments": {"1"}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
}

func TestWebhookRejectsWhatItCannotTrust(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	good := inboundForm("+14155550100", "hello", "SM00000000000000000000000000000009")

	tests := []struct {
		name   string
		form   url.Values
		token  string
		sign   bool
		status int
	}{
		{"missing signature", good, authToken, false, 403},
		{"signed with the wrong token", good, "wrongtoken", true, 403},
		{"unknown account", func() url.Values {
			f := cloneForm(good)
			f.Set("AccountSid", "AC99999999999999999999999999999999")
			return f
		}(), authToken, true, 404},
		{"unknown number", func() url.Values { f := cloneForm(good); f.Set("To", "+14155550142"); return f }(), authToken, true, 404},
		{"From is no address", func() url.Values { f := cloneForm(good); f.Set("From", "hello, world"); return f }(), authToken, true, 422},
		{"no MessageSid", func() url.Values { f := cloneForm(good); f.Del("MessageSid"); f.Del("SmsSid"); return f }(), authToken, true, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := e.webhookPost("/webhooks/twilio/messages", tt.form, tt.token, tt.sign); res.Status != tt.status {
				t.Errorf("status = %d, want %d: %s", res.Status, tt.status, res.Body)
			}
		})
	}
	if n := len(e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)); n != 0 {
		t.Errorf("%d conversations stored from rejected webhooks, want 0", n)
	}

	t.Run("a signed request is accepted", func(t *testing.T) {
		if res := e.webhookPost("/webhooks/twilio/messages", good, authToken, true); res.Status != 200 || res.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
			t.Errorf("status = %d content-type = %q", res.Status, res.Header.Get("Content-Type"))
		}
	})
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestWebhookBadBodies(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	post := func(path, contentType, body string) response {
		req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		res, err := checkedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return response{Status: res.StatusCode, Header: res.Header, Body: raw}
	}
	// A real webhook is a few kilobytes; past 64 KiB nothing else is looked
	// at, not even the content type.
	overLimit := "AccountSid=" + accountSID + "&To=%2B14155550199&Body=" + strings.Repeat("a", 64<<10)
	tests := []struct {
		name, path, contentType, body string
		status                        int
		code                          string
	}{
		{"malformed percent-encoding", "/webhooks/twilio/messages", "application/x-www-form-urlencoded", "From=%ZZ&To=%2B1", 400, "malformed"},
		{"over 64 KiB", "/webhooks/twilio/messages", "application/x-www-form-urlencoded", overLimit, 413, "too_large"},
		{"over 64 KiB, not even a form", "/webhooks/twilio/messages", "application/json", overLimit, 413, "too_large"},
		{"status callback over 64 KiB", "/webhooks/twilio/status", "application/x-www-form-urlencoded", overLimit, 413, "too_large"},
		{"thousands of parameters", "/webhooks/twilio/messages", "application/x-www-form-urlencoded",
			"AccountSid=" + accountSID + "&To=%2B14155550199" + strings.Repeat("&k=", 2000), 413, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(tt.path, tt.contentType, tt.body); got.Status != tt.status || got.ErrorCode() != tt.code {
				t.Errorf("answered %d %s, want %d with the API's error %q", got.Status, got.Body, tt.status, tt.code)
			}
		})
	}
}

func TestMessagingServicePool(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(map[string]any{"messaging_service_sid": serviceSID, "phone_number": "+14155550198"})
	for i, to := range []string{"+14155550197", "+14155550196"} {
		res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, MessagingServiceSid: serviceSID,
			From: "+14155550100", To: to, Body: fmt.Sprintf("text %d", i)})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("pool number %s: %+v %v", to, res, err)
		}
	}
	convs := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations = %d, want 1: the pool is one channel", len(convs))
	}
	if got := convs[0].(map[string]any)["business_phone"]; got != "+14155550196" {
		t.Errorf("business_phone = %v, want the number last texted", got)
	}
}

// A Twilio number whose webhook method is GET: the parameters come in the
// query and the signature covers the URL with it. A carrier that never
// delivers by GET answers 405.
func TestInboundByGET(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const path = "/webhooks/twilio/messages"
	query := "?" + inboundForm("+14155550100", "Sent by GET", "SM000000000000000000000000000000g1").Encode()
	signed := http.Header{"X-Twilio-Signature": {twiliotest.Sign(authToken, publicURL+path+query, nil)}}
	if got := e.get(path+query, signed); got != 200 {
		t.Fatalf("a text by GET: %d", got)
	}
	if got := e.lastMessageOf("+14155550100"); got != "Sent by GET" {
		t.Errorf("the thread ends with %q; want the text sent by GET", got)
	}
	other := "?" + inboundForm("+14155550100", "Forged by GET", "SM000000000000000000000000000000g2").Encode()
	if got := e.get(path+other, signed); got != 403 {
		t.Errorf("another query under the same signature: %d; want 403", got)
	}
	if got := e.get(path+query, nil); got != 403 {
		t.Errorf("an unsigned GET: %d; want 403", got)
	}
	res := e.rawCall(http.MethodGet, "/webhooks/telnyx/profile-1/messages", "", nil)
	if res.Status != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("a GET to a carrier that posts only: %d, Allow %q; want 405, POST", res.Status, res.Header.Get("Allow"))
	}
}

// Texts from a short code or an alphanumeric sender ID are not phone
// numbers (CARRIERS.md §9), and are not lost: each makes its thread,
// found by its address. Neither can be answered from a number, by staff
// or by a keyword's reply.
func TestInboundFromShortCodesAndSenderIDs(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const path = "/webhooks/twilio/messages"
	for i, from := range []string{"ACMEBANK", "22395"} {
		res := e.webhookPost(path, inboundForm(from, "Your code is 1234", fmt.Sprintf("SM00000000000000000000000000000s%02d", i)), authToken, true)
		if res.Status != 200 {
			t.Fatalf("a text from %s: %d %s", from, res.Status, res.Body)
		}
		if got := e.lastMessageOf(from); got != "Your code is 1234" {
			t.Errorf("%s's thread ends with %q", from, got)
		}
	}
	idOf := func(from string) string { return e.conversationOf(from)["id"].(string) }
	for _, from := range []string{"ACMEBANK", "22395"} {
		wantAPIError(t, e.admin("POST", "/v1/conversations/"+idOf(from)+"/messages", map[string]any{"body": "Thanks"}), 409, "contact_not_textable")
	}

	// The contact it made can be edited, its address kept; staff type
	// phone numbers only.
	contact := "/v1/contacts/" + e.conversationOf("ACMEBANK")["contact"].(map[string]any)["id"].(string)
	if got := e.must(200, e.admin("PATCH", contact, map[string]any{"name": "Acme Bank"})); got["name"] != "Acme Bank" {
		t.Errorf("renamed: %v", got)
	}
	if got := e.must(200, e.admin("PATCH", contact, map[string]any{"phones": []string{"ACMEBANK", "+14155550188"}})); fmt.Sprint(got["phones"]) != "[ACMEBANK +14155550188]" {
		t.Errorf("a number added: %v", got["phones"])
	}
	wantAPIError(t, e.admin("PATCH", contact, map[string]any{"phones": []string{"OTHERBANK"}}), 422, "", "phones")

	// HELP from a sender ID queues no answer it could not take.
	if res := e.webhookPost(path, inboundForm("ACMEBANK", "HELP", "SM00000000000000000000000000000s99"), authToken, true); res.Status != 200 {
		t.Fatalf("HELP from a sender ID: %d %s", res.Status, res.Body)
	}
	for _, m := range e.must(200, e.admin("GET", "/v1/conversations/"+idOf("ACMEBANK")+"/messages", nil))["data"].([]any) {
		if m.(map[string]any)["direction"] == "outbound" {
			t.Errorf("a text was queued to a sender ID: %v", m)
		}
	}
}
