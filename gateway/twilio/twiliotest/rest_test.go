package twiliotest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

func TestCreateMessage(t *testing.T) {
	tests := []struct {
		name         string
		params       *api.CreateMessageParams
		wantStatus   string
		wantFrom     string
		wantSegments string
		wantMedia    string
	}{
		{
			name:       "from a number",
			params:     new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").SetBody("Your code is 1234"),
			wantStatus: "queued", wantFrom: "+14155550100", wantSegments: "1", wantMedia: "0",
		},
		{
			name:       "long text in several segments",
			params:     new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").SetBody(strings.Repeat("a", 161)),
			wantStatus: "queued", wantFrom: "+14155550100", wantSegments: "2", wantMedia: "0",
		},
		{
			name:       "one emoji makes the text UCS-2",
			params:     new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").SetBody(strings.Repeat("a", 70) + "🙂"),
			wantStatus: "queued", wantFrom: "+14155550100", wantSegments: "2", wantMedia: "0",
		},
		{
			// Twilio answers before it picks a sender from the service.
			name: "through a messaging service",
			params: new(api.CreateMessageParams).SetTo("+14155550199").
				SetMessagingServiceSid("MG0123456789abcdef0123456789abcdef").SetBody("Hi"),
			wantStatus: "accepted", wantFrom: "", wantSegments: "0", wantMedia: "0",
		},
		{
			name: "picture without text",
			params: new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").
				SetMediaUrl([]string{"https://example.com/cat.jpg", "https://example.com/dog.png"}),
			wantStatus: "queued", wantFrom: "+14155550100", wantSegments: "1", wantMedia: "2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier, srv := startCarrier(t, twiliotest.Config{})
			before := time.Now().Add(-time.Second)
			m, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(tt.params)
			if err != nil {
				t.Fatalf("CreateMessage: %v", err)
			}
			sid := deref(m.Sid)
			if len(sid) != 34 || !strings.HasPrefix(sid, "SM") {
				t.Errorf("sid = %q, want SM + 32 hex digits", sid)
			}
			if got := deref(m.Status); got != tt.wantStatus {
				t.Errorf("status = %q, want %q", got, tt.wantStatus)
			}
			if got := deref(m.From); got != tt.wantFrom {
				t.Errorf("from = %q, want %q", got, tt.wantFrom)
			}
			if got := deref(m.NumSegments); got != tt.wantSegments {
				t.Errorf("num_segments = %q, want %q", got, tt.wantSegments)
			}
			if got := deref(m.NumMedia); got != tt.wantMedia {
				t.Errorf("num_media = %q, want %q", got, tt.wantMedia)
			}
			if deref(m.To) != "+14155550199" || deref(m.AccountSid) != accountA || deref(m.Direction) != "outbound-api" ||
				deref(m.ApiVersion) != "2010-04-01" || m.ErrorCode != nil {
				t.Errorf("resource = to %q account %q direction %q api_version %q error_code %v",
					deref(m.To), deref(m.AccountSid), deref(m.Direction), deref(m.ApiVersion), m.ErrorCode)
			}
			created, err := time.Parse(time.RFC1123Z, deref(m.DateCreated))
			if err != nil || created.Before(before) {
				t.Errorf("date_created = %q (%v), want a recent RFC 2822 time", deref(m.DateCreated), err)
			}
			if want := "/2010-04-01/Accounts/" + accountA + "/Messages/" + sid + ".json"; deref(m.Uri) != want {
				t.Errorf("uri = %q, want %q", deref(m.Uri), want)
			}

			phone := carrier.MessagesTo("+14155550199")
			if len(phone) != 1 || phone[0].Sid != sid || phone[0].Body != deref(tt.params.Body) ||
				!slices.Equal(phone[0].MediaURLs, deref(tt.params.MediaUrl)) {
				t.Errorf("phone received %+v, want the text %s", phone, sid)
			}
		})
	}
}

func TestCreateMessageRefused(t *testing.T) {
	tests := []struct {
		name       string
		sid, token string
		pathSid    string
		params     *api.CreateMessageParams
		wantStatus int
		wantCode   int
	}{
		{name: "wrong token", sid: accountA, token: "wrongtoken",
			params: valid(), wantStatus: 401, wantCode: 20003},
		{name: "unknown account", sid: "ACcccccccccccccccccccccccccccccccc", token: tokenA,
			params: valid(), wantStatus: 401, wantCode: 20003},
		{name: "another account's path", sid: accountA, token: tokenA, pathSid: accountB,
			params: valid(), wantStatus: 401, wantCode: 20003},
		{name: "no To", sid: accountA, token: tokenA,
			params: new(api.CreateMessageParams).SetFrom("+14155550100").SetBody("Hi"), wantStatus: 400, wantCode: 21604},
		{name: "To not E.164", sid: accountA, token: tokenA,
			params: valid().SetTo("4155550199"), wantStatus: 400, wantCode: 21211},
		{name: "no From nor service", sid: accountA, token: tokenA,
			params: new(api.CreateMessageParams).SetTo("+14155550199").SetBody("Hi"), wantStatus: 400, wantCode: 21603},
		{name: "no Body nor media", sid: accountA, token: tokenA,
			params: new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100"), wantStatus: 400, wantCode: 21602},
		{name: "body over 1600 characters", sid: accountA, token: tokenA,
			params: valid().SetBody(strings.Repeat("a", 1601)), wantStatus: 400, wantCode: 21617},
		{name: "unsubscribed recipient", sid: accountA, token: tokenA,
			params: valid().SetTo("+14155550666"), wantStatus: 400, wantCode: 21610},
		{name: "configured invalid number", sid: accountA, token: tokenA,
			params: valid().SetTo("+14155550777"), wantStatus: 400, wantCode: 21211},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier, srv := startCarrier(t, twiliotest.Config{
				FailNumbers: map[string]int{"+14155550666": 21610, "+14155550777": 21211},
			})
			if tt.pathSid != "" {
				tt.params.SetPathAccountSid(tt.pathSid)
			}
			_, err := twilioClient(t, srv.URL, tt.sid, tt.token).Api.CreateMessage(tt.params)
			var te *client.TwilioRestError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *client.TwilioRestError", err)
			}
			if te.Status != tt.wantStatus || te.Code != tt.wantCode || te.Message == "" ||
				te.MoreInfo != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", tt.wantCode) {
				t.Errorf("error = %+v, want status %d code %d with a message", te, tt.wantStatus, tt.wantCode)
			}
			if got := carrier.Messages(); len(got) != 0 {
				t.Errorf("phones received %d texts, want none", len(got))
			}
		})
	}
}

func TestCreateMessageUnsubscribedMessage(t *testing.T) {
	_, srv := startCarrier(t, twiliotest.Config{FailNumbers: map[string]int{"+14155550666": 21610}})
	_, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid().SetTo("+14155550666"))
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Message != "Attempt to send to unsubscribed recipient" {
		t.Errorf("err = %v, want Twilio's 21610 message", err)
	}
}

func TestCreateMessageRateLimit(t *testing.T) {
	carrier, srv := startCarrier(t, twiliotest.Config{RateLimitEvery: 3})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	var limited []int
	for i := 1; i <= 9; i++ {
		_, err := tw.Api.CreateMessage(valid())
		var te *client.TwilioRestError
		switch {
		case errors.As(err, &te) && te.Status == http.StatusTooManyRequests && te.Code == 20429:
			limited = append(limited, i)
		case err != nil:
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if want := []int{3, 6, 9}; !slices.Equal(limited, want) {
		t.Errorf("creates answered 429: %v, want %v", limited, want)
	}
	if got := len(carrier.Messages()); got != 6 {
		t.Errorf("phones received %d texts, want 6", got)
	}
}

func TestLatency(t *testing.T) {
	_, srv := startCarrier(t, twiliotest.Config{Latency: 80 * time.Millisecond})
	start := time.Now()
	if _, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Errorf("create took %v, want at least the 80ms latency", took)
	}
}

func TestListMessages(t *testing.T) {
	carrier, srv := startCarrier(t, twiliotest.Config{})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	send := func(to, from, body string) string {
		t.Helper()
		m, err := tw.Api.CreateMessage(new(api.CreateMessageParams).SetTo(to).SetFrom(from).SetBody(body))
		if err != nil {
			t.Fatal(err)
		}
		return *m.Sid
	}
	s1 := send("+14155550101", "+14155550100", "one")
	s2 := send("+14155550102", "+14155550100", "two")
	s3 := send("+14155550101", "+14155550200", "three")
	s4 := send("+14155550101", "+14155550100", "four")
	// Another account's text must never show up in account A's lists.
	if _, err := twilioClient(t, srv.URL, accountB, tokenB).Api.CreateMessage(valid().SetTo("+14155550101")); err != nil {
		t.Fatal(err)
	}
	if len(carrier.Messages()) != 5 {
		t.Fatalf("phones received %d texts, want 5", len(carrier.Messages()))
	}

	today := time.Now().UTC()
	tests := []struct {
		name   string
		params *api.ListMessageParams
		want   []string
	}{
		{name: "all, newest first", params: &api.ListMessageParams{}, want: []string{s4, s3, s2, s1}},
		{name: "to a number", params: new(api.ListMessageParams).SetTo("+14155550101"), want: []string{s4, s3, s1}},
		{name: "from a number", params: new(api.ListMessageParams).SetFrom("+14155550100"), want: []string{s4, s2, s1}},
		{name: "to and from", params: new(api.ListMessageParams).SetTo("+14155550101").SetFrom("+14155550100"), want: []string{s4, s1}},
		{name: "to a number never texted", params: new(api.ListMessageParams).SetTo("+14155550999"), want: nil},
		{name: "sent today", params: new(api.ListMessageParams).SetDateSent(today), want: []string{s4, s3, s2, s1}},
		{name: "sent yesterday", params: new(api.ListMessageParams).SetDateSent(today.AddDate(0, 0, -1)), want: nil},
		{name: "sent on or after yesterday", params: new(api.ListMessageParams).SetDateSentAfter(today.AddDate(0, 0, -1)), want: []string{s4, s3, s2, s1}},
		{name: "sent on or after tomorrow", params: new(api.ListMessageParams).SetDateSentAfter(today.AddDate(0, 0, 1)), want: nil},
		{name: "sent on or before today", params: new(api.ListMessageParams).SetDateSentBefore(today), want: []string{s4, s3, s2, s1}},
		{name: "sent on or before yesterday", params: new(api.ListMessageParams).SetDateSentBefore(today.AddDate(0, 0, -1)), want: nil},
		{name: "pages of one are all followed", params: new(api.ListMessageParams).SetTo("+14155550101").SetPageSize(1), want: []string{s4, s3, s1}},
		{name: "limit", params: new(api.ListMessageParams).SetLimit(2), want: []string{s4, s3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := tw.Api.ListMessage(tt.params)
			if err != nil {
				t.Fatalf("ListMessage: %v", err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, *m.Sid)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
}

// TestListMessagesPageShape reads a page as raw JSON, with the YYYY-MM-DD
// dates Twilio documents, to check the paging fields twilio-go relies on.
func TestListMessagesPageShape(t *testing.T) {
	_, srv := startCarrier(t, twiliotest.Config{})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	var oldest string
	for i := range 3 {
		m, err := tw.Api.CreateMessage(valid())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldest = *m.Sid
		}
	}
	day := time.Now().UTC().Format(time.DateOnly)
	q := url.Values{"To": {"+14155550199"}, "DateSent>": {day}, "PageSize": {"2"}}
	var page struct {
		Messages     []map[string]any `json:"messages"`
		NextPageURI  *string          `json:"next_page_uri"`
		FirstPageURI string           `json:"first_page_uri"`
		PageSize     int              `json:"page_size"`
		Page         int              `json:"page"`
	}
	getJSON(t, srv.URL+"/2010-04-01/Accounts/"+accountA+"/Messages.json?"+q.Encode(), http.StatusOK, &page)
	if len(page.Messages) != 2 || page.PageSize != 2 || page.Page != 0 || page.NextPageURI == nil {
		t.Fatalf("page = %d messages, page_size %d, page %d, next %v; want 2, 2, 0 and a next page",
			len(page.Messages), page.PageSize, page.Page, page.NextPageURI)
	}
	for _, key := range []string{"error_code", "error_message", "price"} {
		if v, ok := page.Messages[0][key]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", key, v, ok)
		}
	}
	var next struct {
		Messages    []map[string]any `json:"messages"`
		NextPageURI *string          `json:"next_page_uri"`
		Page        int              `json:"page"`
	}
	getJSON(t, srv.URL+*page.NextPageURI, http.StatusOK, &next)
	if len(next.Messages) != 1 || next.NextPageURI != nil || next.Page != 1 {
		t.Errorf("next page = %d messages, next %v, page %d; want 1, none, 1", len(next.Messages), next.NextPageURI, next.Page)
	}
	if next.Messages[0]["sid"] != oldest {
		t.Errorf("next page holds %v, want the oldest text %s", next.Messages[0]["sid"], oldest)
	}

	// A hand-built Page=1 without a PageToken counts from the newest text.
	q.Set("Page", "1")
	var byNumber struct {
		Messages []map[string]any `json:"messages"`
	}
	getJSON(t, srv.URL+"/2010-04-01/Accounts/"+accountA+"/Messages.json?"+q.Encode(), http.StatusOK, &byNumber)
	if len(byNumber.Messages) != 1 || byNumber.Messages[0]["sid"] != oldest {
		t.Errorf("Page=1 holds %v, want only the oldest text %s", byNumber.Messages, oldest)
	}
}

func TestFetchMessage(t *testing.T) {
	_, srv := startCarrier(t, twiliotest.Config{})
	m, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		account  string
		token    string
		sid      string
		wantCode int // 0 for found
	}{
		{name: "own text", account: accountA, token: tokenA, sid: *m.Sid},
		{name: "unknown sid", account: accountA, token: tokenA, sid: "SM00000000000000000000000000000000", wantCode: 20404},
		{name: "malformed sid", account: accountA, token: tokenA, sid: "nope", wantCode: 20404},
		{name: "another account's text", account: accountB, token: tokenB, sid: *m.Sid, wantCode: 20404},
		{name: "wrong token", account: accountA, token: "wrongtoken", sid: *m.Sid, wantCode: 20003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := twilioClient(t, srv.URL, tt.account, tt.token).Api.FetchMessage(tt.sid, nil)
			if tt.wantCode == 0 {
				if err != nil || deref(got.Sid) != *m.Sid || deref(got.Body) != "Hi there" {
					t.Errorf("FetchMessage = %+v, %v; want the text", got, err)
				}
				return
			}
			var te *client.TwilioRestError
			if !errors.As(err, &te) || te.Code != tt.wantCode {
				t.Errorf("err = %v, want Twilio code %d", err, tt.wantCode)
			}
		})
	}
}

// valid is a create Twilio accepts.
func valid() *api.CreateMessageParams {
	return new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").SetBody("Hi there")
}

func getJSON(t *testing.T, u string, wantStatus int, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(accountA, tokenA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d, want %d", u, resp.StatusCode, wantStatus)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
