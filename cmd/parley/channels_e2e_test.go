package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// Another tenant's Twilio account, numbers and services.
const (
	otherSID     = "ACe2e00000000000000000000000000002"
	otherToken   = "e2etoken000000000000000000000002"
	otherNumber  = "+14155550299"
	otherService = "MGe2e00000000000000000000000000002"
	spareNumber  = "+14155550198" // on the e2e account once it lists its numbers
)

// newAccount creates another tenant with `parley account create` and
// returns its admin's token.
func (e *env) newAccount(name string) string {
	e.t.Helper()
	token := fmt.Sprintf("%s-admin-token-000000000000000000000000", name)
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "PARLEY_DATABASE_URL" {
			return e.main.Config.DatabaseURL
		}
		return ""
	}
	if err := run(context.Background(), []string{"account", "create", "--name", name, "--token", token}, getenv, &out, &out); err != nil {
		e.t.Fatalf("account create: %v\n%s", err, out.String())
	}
	return token
}

// channelBody is a POST /v1/channels body on the e2e account with change
// applied (nil deletes a field).
func channelBody(inboxID any, change map[string]any) map[string]any {
	b := map[string]any{"carrier": "twilio", "phone_number": business, "inbox_id": inboxID, "account_sid": accountSID, "auth_token": authToken}
	for k, v := range change {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return b
}

// The carrier vouches for a channel before it is stored: its credentials,
// its number, its messaging service. Nothing is stored otherwise.
func TestChannelCredentialsAreVerified(t *testing.T) {
	e := boot(t, "")
	e.carrier.AddAccount(accountSID, "", business, spareNumber, serviceSID)
	e.carrier.AddAccount(otherSID, otherToken, otherNumber, otherService)
	inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))["id"]

	for _, tt := range []struct {
		name   string
		change map[string]any
		code   string
		field  string
	}{
		{"a token the carrier refuses", map[string]any{"auth_token": "wrongtoken0000000000000000000000"}, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{"an account the carrier does not know", map[string]any{"account_sid": "AC" + otherSID[2:33] + "9"}, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{"a token that is not the carrier's alphabet", map[string]any{"auth_token": "not a twilio token"}, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{"a number not on the account", map[string]any{"phone_number": otherNumber}, conversations.CodeNumberNotOnCarrierAccount, "phone_number"},
		{"a messaging service not on the account", map[string]any{"phone_number": nil, "messaging_service_sid": otherService},
			conversations.CodeServiceNotOnCarrierAccount, "messaging_service_sid"},
		{"a pace that overflows", map[string]any{"messages_per_second": 1e-300}, "validation_failed", "messages_per_second"},
		{"a pace no carrier offers", map[string]any{"messages_per_second": 1e9}, "validation_failed", "messages_per_second"},
		{"a carrier Parley does not speak", map[string]any{"carrier": "carrier-pigeon"}, "validation_failed", "carrier"},
		{"no carrier", map[string]any{"carrier": nil}, "validation_failed", "carrier"},
		{"an Account SID that is not one", map[string]any{"account_sid": "ACshort"}, "validation_failed", "account_sid"},
		{"account_id and account_sid that differ", map[string]any{"account_id": otherSID}, "validation_failed", "account_id"},
		{"a webhook secret Twilio does not use", map[string]any{"webhook_secret": "s3cret"}, "validation_failed", "webhook_secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.admin("POST", "/v1/channels", channelBody(inbox, tt.change))
			wantAPIError(t, res, 422, tt.code, tt.field)
			if bytes.Contains(res.Body, []byte(authToken)) {
				t.Errorf("the answer echoes the auth token: %s", res.Body)
			}
		})
	}
	if n := len(e.must(200, e.admin("GET", "/v1/channels", nil))["data"].([]any)); n != 0 {
		t.Fatalf("%d channels stored from refused requests", n)
	}

	ch := e.must(201, e.admin("POST", "/v1/channels", channelBody(inbox, nil)))
	if ch["account_id"] != accountSID || ch["account_sid"] != accountSID || ch["inbound_webhook_url"] != e.main.Config.PublicURL+"/webhooks/twilio/messages" {
		t.Errorf("channel = %v; want account_id and account_sid %s and Twilio's inbound URL", ch, accountSID)
	}
	// account_id is account_sid under the name every carrier shares.
	e.must(201, e.admin("POST", "/v1/channels", channelBody(inbox, map[string]any{"phone_number": nil, "account_sid": nil,
		"account_id": accountSID, "messaging_service_sid": serviceSID})))
	e.text("+14155550100", "verified and receiving")
}

// A carrier that cannot be asked stores nothing and says so.
func TestChannelVerificationNeedsTheCarrier(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.TwilioAPIURL = down })
	inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))["id"]
	wantAPIError(t, e.admin("POST", "/v1/channels", channelBody(inbox, nil)), 502, conversations.CodeCarrierUnavailable)
	if n := len(e.must(200, e.admin("GET", "/v1/channels", nil))["data"].([]any)); n != 0 {
		t.Errorf("%d channels stored without the carrier's word", n)
	}
}

// Tenant B cannot connect anything under tenant A's Twilio account with
// its own token; A keeps receiving texts and delivery statuses.
func TestAnotherTenantCannotClaimACarrierAccount(t *testing.T) {
	e := boot(t, "")
	e.carrier.AddAccount(accountSID, "", business, spareNumber, serviceSID)
	e.carrier.AddAccount(otherSID, otherToken, otherNumber, otherService)
	e.setupChannel(nil)
	b := e.newAccount("mallory")
	inboxB := e.must(201, e.call(b, "POST", "/v1/inboxes", map[string]any{"name": "Mine", "kind": "support"}))["id"]

	for _, change := range []map[string]any{
		{"auth_token": otherToken},
		{"auth_token": otherToken, "phone_number": spareNumber},
		{"auth_token": otherToken, "phone_number": nil, "messaging_service_sid": serviceSID},
	} {
		wantAPIError(t, e.call(b, "POST", "/v1/channels", channelBody(inboxB, change)), 422, conversations.CodeCarrierCredentialsInvalid, "auth_token")
	}
	// B's own account is B's to connect.
	e.must(201, e.call(b, "POST", "/v1/channels", channelBody(inboxB, map[string]any{"account_sid": otherSID, "auth_token": otherToken,
		"phone_number": otherNumber})))

	const customer = "+14155550123"
	e.text(customer, "Hello A")
	// A's messaging service is A's to connect, and its texts reach A.
	e.must(201, e.admin("POST", "/v1/channels", channelBody(e.admin("GET", "/v1/inboxes", nil).Data()[0]["id"],
		map[string]any{"phone_number": nil, "messaging_service_sid": serviceSID})))
	if res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: "+14155550127",
		To: spareNumber, MessagingServiceSid: serviceSID, Body: "via the pool"}); err != nil || res.StatusCode != 200 {
		t.Fatalf("A's text through its service: %v, %v", res.StatusCode, err)
	}
	convID := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550123", nil))["data"].([]any)[0].(map[string]any)["id"].(string)
	msg := e.must(202, e.admin("POST", "/v1/conversations/"+convID+"/messages", map[string]any{"body": "Hi, A here"}))
	e.eventually("A's reply delivered by A's genuine callbacks", func() bool {
		return e.message(convID, msg["id"].(string))["status"] == "delivered"
	})
}

// A status callback moves a text only when signed with the token of the
// channel that sent it. A channel claimed under the same AccountSid before
// channels were verified (written here straight to the database, before
// A's) can neither forge A's statuses nor get A's genuine ones refused; an
// unknown MessageSid changes nothing.
func TestStatusCallbacksAreVerifiedByTheSendingChannel(t *testing.T) {
	e := boot(t, "")
	e.legacyClaim(e.newAccount("legacy"), conversations.Channel{PhoneNumber: spareNumber})

	e.setupChannel(nil)
	const customer = "+14155550124"
	e.text(customer, "Hello")
	convID := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)["id"].(string)
	msgID := e.must(202, e.admin("POST", "/v1/conversations/"+convID+"/messages", map[string]any{"body": "On its way"}))["id"].(string)
	e.eventually("the reply sent", func() bool { return e.message(convID, msgID)["status"] == "delivered" })
	sid := e.message(convID, msgID)["carrier_message_id"].(string)

	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}, "AccountSid": {accountSID}}
	if r := e.webhookPost("/webhooks/twilio/status", form, forgedToken, true); r.Status != 403 {
		t.Errorf("callback signed by another channel for A's text: %d, want 403", r.Status)
	}
	if got := e.message(convID, msgID); got["status"] != "delivered" || got["error_code"] != nil {
		t.Errorf("A's text after a forged callback: %v", got)
	}
	form.Set("MessageStatus", "read")
	form.Del("ErrorCode")
	if r := e.webhookPost("/webhooks/twilio/status", form, authToken, true); r.Status != 200 {
		t.Errorf("A's genuine callback: %d, want 200: %s", r.Status, r.Body)
	}
	form.Set("MessageSid", "SM0000000000000000000000000000abcd")
	if r := e.webhookPost("/webhooks/twilio/status", form, authToken, true); r.Status != 200 {
		t.Errorf("callback for an unknown MessageSid: %d, want 200", r.Status)
	}
	// A's inbound texts still reach A.
	e.text(customer, "still there?")
}

const forgedToken = "forgedtoken00000000000000000000"

// legacyClaim connects c under the e2e account's AccountSid for the
// tenant whose admin token is admin, with forgedToken, straight in the
// database: as before channels were verified.
func (e *env) legacyClaim(admin string, c conversations.Channel) conversations.Channel {
	e.t.Helper()
	inbox := e.must(201, e.call(admin, "POST", "/v1/inboxes", map[string]any{"name": "Mine", "kind": "support"}))["id"].(string)
	inboxID, err := parley.ParseID(inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	db := e.rawSQL()
	if err := db.Get(&c.AccountID, db.Rebind(`SELECT account_id FROM inboxes WHERE id = ?`), inboxID); err != nil {
		e.t.Fatal(err)
	}
	c.InboxID, c.Carrier, c.CarrierAccountID, c.AuthToken, c.CreatedAt = inboxID, conversations.CarrierTwilio, accountSID, forgedToken, time.Now()
	c, err = e.main.DB.CreateChannel(context.Background(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// A number and a messaging service another tenant claimed under A's
// AccountSid before channels were verified, with a token the carrier
// refuses, held A's texts hostage (403, lost). A connecting them with
// credentials that verify takes them back: the claims are disconnected
// and A receives. A channel whose credentials the carrier accepts keeps
// its number (409).
func TestAClaimTheCarrierRefusesGivesWay(t *testing.T) {
	e := boot(t, "")
	e.carrier.AddAccount(accountSID, "", business, spareNumber, serviceSID)
	e.carrier.AddAccount(otherSID, otherToken, otherNumber, otherService)
	b := e.newAccount("squatter")
	e.legacyClaim(b, conversations.Channel{PhoneNumber: business})
	e.legacyClaim(b, conversations.Channel{PhoneNumber: spareNumber, MessagingServiceSID: serviceSID})
	const customer = "+14155550131"
	if res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: customer, To: business, Body: "lost"}); err != nil || res.StatusCode != 403 {
		t.Fatalf("A's text while B holds A's number: %v, %v; want the 403 of the hijack", res.StatusCode, err)
	}

	ch := e.setupChannel(nil)
	e.must(201, e.admin("POST", "/v1/channels", channelBody(ch["inbox_id"], map[string]any{"phone_number": nil, "messaging_service_sid": serviceSID})))
	e.text(customer, "reaches A")
	if res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: customer,
		To: spareNumber, MessagingServiceSid: serviceSID, Body: "via A's service"}); err != nil || res.StatusCode != 200 {
		t.Errorf("A's text through its service: %v, %v", res.StatusCode, err)
	}
	if n := len(e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550131", nil))["data"].([]any)); n != 2 {
		t.Errorf("A has %d conversations with the customer; want one on each channel", n)
	}
	for _, c := range e.must(200, e.call(b, "GET", "/v1/channels", nil))["data"].([]any) {
		if c := c.(map[string]any); c["status"] != "disconnected" {
			t.Errorf("B's refused claim after A connected: %v", c)
		}
	}

	// B's own number, with credentials the carrier accepts, stays B's.
	held := e.must(201, e.call(b, "POST", "/v1/channels", channelBody(e.call(b, "GET", "/v1/inboxes", nil).Data()[0]["id"],
		map[string]any{"account_sid": otherSID, "auth_token": otherToken, "phone_number": otherNumber})))
	wantAPIError(t, e.admin("POST", "/v1/channels", channelBody(ch["inbox_id"], map[string]any{"account_sid": otherSID, "auth_token": otherToken,
		"phone_number": otherNumber})), 409, "channel_exists")
	if got := e.must(200, e.call(b, "GET", "/v1/channels", nil))["data"].([]any); got[len(got)-1].(map[string]any)["status"] != "connected" {
		t.Errorf("B's verified channel %v after A's attempt: %v", held["id"], got[len(got)-1])
	}
}

// Twilio signs every webhook of an account with its current token: after
// one channel's token is rotated, texts to the account's other number
// verify with the new token too.
func TestTokenRotationReachesTheAccountsOtherChannels(t *testing.T) {
	e := boot(t, "")
	e.carrier.AddAccount(accountSID, "", business, spareNumber)
	ch := e.setupChannel(nil)
	e.must(201, e.admin("POST", "/v1/channels", channelBody(ch["inbox_id"], map[string]any{"phone_number": spareNumber})))
	const newToken = "e2etoken0000000000000000000000dd"
	e.carrier.AddAccount(accountSID, newToken)
	e.must(200, e.admin("PATCH", "/v1/channels/"+ch["id"].(string), map[string]any{"auth_token": newToken}))

	for i, to := range []string{business, spareNumber} {
		// The fake signs with the rotated token.
		if res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: fmt.Sprintf("+1415555014%d", i),
			To: to, Body: "after the rotation"}); err != nil || res.StatusCode != 200 {
			t.Errorf("text to %s signed with the new token: %v, %v; want 200", to, res.StatusCode, err)
		}
	}
}

// Disconnecting a channel cancels the campaign running on it: nothing
// more goes out, and its counts add up with what was not sent cancelled.
func TestDisconnectCancelsTheChannelsCampaigns(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	phones := make([]string, 30)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 3000000+i)
	}
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Slow", "channel_id": ch["id"], "body": "Hello",
		"rate_per_second": 2, "audience": map[string]any{"phones": phones}}))
	id := c["id"].(string)
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
	e.eventually("the first texts", func() bool { return e.carrier.Count() > 0 })

	e.must(204, e.admin("DELETE", "/v1/channels/"+ch["id"].(string), nil))
	if got := e.must(200, e.admin("GET", "/v1/campaigns/"+id, nil)); got["status"] != "cancelled" {
		t.Errorf("campaign right after disconnecting its channel: %v; want cancelled", got["status"])
	}
	var got map[string]any
	var n map[string]int
	e.eventually("the text in flight settled", func() bool {
		got = e.must(200, e.admin("GET", "/v1/campaigns/"+id, nil))
		n = counts(got)
		return n["queued"] == 0
	})
	if got["status"] != "cancelled" || n["queued"] != 0 || n["cancelled"] == 0 {
		t.Errorf("campaign after disconnecting its channel: %v with counts %v; want cancelled, nothing queued", got["status"], n)
	}
	if sum := n["queued"] + n["sent"] + n["delivered"] + n["failed"] + n["skipped_opted_out"] + n["cancelled"]; sum != 30 || n["recipients"] != 30 {
		t.Errorf("counts %v add up to %d; want 30 recipients", n, sum)
	}
	sent := e.carrier.Count()
	time.Sleep(1500 * time.Millisecond) // a campaign tick and more
	if now := e.carrier.Count(); now != sent {
		t.Errorf("texts went on after disconnecting: %d → %d", sent, now)
	}
}

// PATCH rotates a leaked token: the carrier must accept the new one, and
// from then on webhooks signed with the old one are refused.
func TestChannelTokenRotation(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	path := "/v1/channels/" + ch["id"].(string)
	const newToken = "e2etoken0000000000000000000000ff"
	const customer = "+14155550125"

	// Not yet rotated at the carrier: refused, the old token still works.
	wantAPIError(t, e.admin("PATCH", path, map[string]any{"auth_token": newToken}), 422, conversations.CodeCarrierCredentialsInvalid, "auth_token")
	old := inboundForm(customer, "before", "SM000000000000000000000000000000a1")
	if r := e.webhookPost("/webhooks/twilio/messages", old, authToken, true); r.Status != 200 {
		t.Fatalf("old token before rotation: %d", r.Status)
	}

	e.carrier.AddAccount(accountSID, newToken)
	got := e.must(200, e.admin("PATCH", path, map[string]any{"auth_token": newToken, "messages_per_second": 5, "carrier_handles_optout": true}))
	if got["messages_per_second"] != float64(5) || got["carrier_handles_optout"] != true || got["status"] != "connected" || got["auth_token"] != nil {
		t.Errorf("patched channel = %v", got)
	}
	if r := e.webhookPost("/webhooks/twilio/messages", inboundForm(customer, "old", "SM000000000000000000000000000000a2"), authToken, true); r.Status != 403 {
		t.Errorf("inbound signed with the old token: %d, want 403", r.Status)
	}
	e.text(customer, "signed with the new token") // the fake signs with the rotated token
	status := url.Values{"MessageSid": {"SM000000000000000000000000000000a3"}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}}
	if r := e.webhookPost("/webhooks/twilio/status", status, authToken, true); r.Status != 403 {
		t.Errorf("status callback signed with the old token: %d, want 403", r.Status)
	}
	if r := e.webhookPost("/webhooks/twilio/status", status, newToken, true); r.Status != 200 {
		t.Errorf("status callback signed with the new token: %d, want 200", r.Status)
	}

	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"messages_per_second": 1e-300}, "messages_per_second"},
		{map[string]any{"messages_per_second": -1}, "messages_per_second"},
		{map[string]any{"inbox_id": "999999"}, "inbox_id"},
		{map[string]any{"auth_token": ""}, "auth_token"},
		{map[string]any{"phone_number": "+14155550100"}, "phone_number"},
	} {
		wantAPIError(t, e.admin("PATCH", path, tt.body), 422, "", tt.field)
	}
	_, agentToken, _ := e.addStaff("ann@example.com", "agent", true)
	wantAPIError(t, e.call(agentToken, "PATCH", path, map[string]any{"messages_per_second": 1}), 403, "forbidden")
	other := e.newAccount("other")
	wantAPIError(t, e.call(other, "PATCH", path, map[string]any{"messages_per_second": 1}), 404, "")
	wantAPIError(t, e.call(other, "DELETE", path, nil), 404, "")
}

// DELETE disconnects: webhooks 404, texts still queued fail with
// channel_disconnected, nothing new is queued, the history stays.
func TestDisconnectChannel(t *testing.T) {
	e := boot(t, "")
	// One text every 100 s: the first goes, the rest wait their turn.
	ch := e.setupChannel(map[string]any{"messages_per_second": 0.01})
	chID := ch["id"].(string)
	const customer = "+14155550126"
	e.text(customer, "Hi")
	convID := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)["id"].(string)
	phones := []string{"+14155550301", "+14155550302", "+14155550303"}
	quick := e.must(202, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": chID, "body": "Sale", "to": phones}))
	e.eventually("the first text sent", func() bool { return e.carrier.Count() == 1 })

	e.must(204, e.admin("DELETE", "/v1/channels/"+chID, nil))
	e.must(204, e.admin("DELETE", "/v1/channels/"+chID, nil))

	failed := 0
	for _, m := range quick["messages"].([]any) {
		m := m.(map[string]any)
		got := e.message(m["conversation_id"].(string), m["message_id"].(string))
		if got["status"] == "failed" {
			failed++
			if got["error_reason"] != conversations.CodeChannelDisconnected {
				t.Errorf("failed text = %v; want error_reason channel_disconnected", got)
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d queued texts failed; want 2", failed)
	}
	time.Sleep(200 * time.Millisecond) // a dispatcher poll or two
	if n := e.carrier.Count(); n != 1 {
		t.Errorf("%d texts reached the carrier; want the 1 sent before disconnecting", n)
	}

	// Webhooks: 404, a text Twilio does not retry.
	if res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: customer, To: business, Body: "anyone?"}); err != nil || res.StatusCode != 404 {
		t.Errorf("inbound to a disconnected channel: %v, %v; want 404", res.StatusCode, err)
	}
	status := url.Values{"MessageSid": {e.carrier.Messages()[0].Sid}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}}
	if r := e.webhookPost("/webhooks/twilio/status", status, authToken, true); r.Status != 404 {
		t.Errorf("status callback for a disconnected channel: %d, want 404", r.Status)
	}

	// The history stays; nothing new is sent from it.
	if msgs := e.must(200, e.admin("GET", "/v1/conversations/"+convID+"/messages", nil))["data"].([]any); len(msgs) != 1 {
		t.Errorf("history of a disconnected channel: %v", msgs)
	}
	wantAPIError(t, e.admin("POST", "/v1/conversations/"+convID+"/messages", map[string]any{"body": "Hello?"}), 409, conversations.CodeChannelDisconnected)
	wantAPIError(t, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": chID, "body": "Hi", "to": []string{customer}}),
		409, conversations.CodeChannelDisconnected)
	wantAPIError(t, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Late", "channel_id": chID, "body": "Hi",
		"audience": map[string]any{"phones": []string{customer}}}), 409, conversations.CodeChannelDisconnected)
	wantAPIError(t, e.admin("PATCH", "/v1/channels/"+chID, map[string]any{"messages_per_second": 1}), 409, conversations.CodeChannelDisconnected)

	list := e.must(200, e.admin("GET", "/v1/channels", nil))["data"].([]any)
	if got := list[0].(map[string]any); len(list) != 1 || got["status"] != "disconnected" || got["disconnected_at"] == nil {
		t.Errorf("channels after disconnecting = %v", list)
	}
	// The number can be connected again, and receives again.
	e.must(201, e.admin("POST", "/v1/channels", channelBody(ch["inbox_id"], nil)))
	e.text(customer, "back")
}

// A token rotated or a channel disconnected on one instance holds on every
// instance at once: the other drops the routes it kept.
func TestChannelChangesReachEveryInstance(t *testing.T) {
	dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL
	e1 := boot(t, dbURL)
	e2 := boot(t, dbURL)
	ch := e1.setupChannel(nil)
	const newToken = "e2etoken0000000000000000000000ee"
	const customer = "+14155550128"
	form := func(n int) url.Values { return inboundForm(customer, "hi", fmt.Sprintf("SM%032d", n)) }
	if r := e2.webhookPost("/webhooks/twilio/messages", form(1), authToken, true); r.Status != 200 {
		t.Fatalf("inbound on the second instance: %d", r.Status)
	}

	e1.carrier.AddAccount(accountSID, newToken)
	e1.must(200, e1.admin("PATCH", "/v1/channels/"+ch["id"].(string), map[string]any{"auth_token": newToken}))
	// Within 1.5 s: kept routes expire after 2 s without a notification.
	n := 1
	within(t, 1500*time.Millisecond, "the old token refused on the other instance", func() bool {
		n++
		return e2.webhookPost("/webhooks/twilio/messages", form(n), authToken, true).Status == 403
	})
	if r := e2.webhookPost("/webhooks/twilio/messages", form(n+1), newToken, true); r.Status != 200 {
		t.Errorf("the new token on the other instance: %d", r.Status)
	}

	e1.must(204, e1.admin("DELETE", "/v1/channels/"+ch["id"].(string), nil))
	within(t, 1500*time.Millisecond, "the disconnected channel's webhooks 404 on the other instance", func() bool {
		n++
		return e2.webhookPost("/webhooks/twilio/messages", form(n+1), newToken, true).Status == 404
	})
}

// within polls cond until it holds, failing the test after d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}
