package twilio_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/twilio"
)

const seedDir = "../../testdata/twilio"

// SIDs used in testdata/twilio.
const (
	accountSid = "AC3f9e2a7c1b4d4e8f9a0b1c2d3e4f5a6b"
	serviceSid = "MG8d2c4b6a1e3f4a5b9c7d8e0f1a2b3c4d"
	smsSid     = "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	mmsSid     = "MM7a6b5c4d3e2f10998877665544332211"
	outSid     = "SM5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
)

var e164 = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)

// readSeed returns a raw webhook body from testdata/twilio.
func readSeed(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(seedDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimRight(string(b), "\r\n")
}

// seedForm parses a seed and applies edits: a key set to "" is deleted.
func seedForm(tb testing.TB, name string, edits map[string]string) url.Values {
	tb.Helper()
	form, err := url.ParseQuery(readSeed(tb, name))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	for k, v := range edits {
		if v == "" {
			form.Del(k)
		} else {
			form.Set(k, v)
		}
	}
	return form
}

// invalidFields returns the field names of an EINVALID error, or fails.
func invalidFields(tb testing.TB, err error) []string {
	tb.Helper()
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Kind != parley.EINVALID {
		tb.Fatalf("error = %v, want an EINVALID *parley.Error", err)
	}
	var names []string
	for k := range pe.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func mediaURL(me string) string {
	return "https://api.twilio.com/2010-04-01/Accounts/" + accountSid + "/Messages/" + mmsSid + "/Media/" + me
}

func TestParseInbound(t *testing.T) {
	sms := twilio.Inbound{
		MessageSid:  smsSid,
		AccountSid:  accountSid,
		From:        "+14155550100",
		To:          "+14155550199",
		Body:        "Hi, is my order ready? Pick-up at 5 ok 👍",
		NumSegments: 1,
		RawFrom:     "+14155550100",
		RawTo:       "+14155550199",
	}
	with := func(f func(*twilio.Inbound)) twilio.Inbound {
		in := sms
		f(&in)
		return in
	}

	tests := []struct {
		name       string
		form       url.Values
		want       twilio.Inbound
		wantFields []string // the fields an EINVALID error names
	}{
		{name: "sms", form: seedForm(t, "inbound_sms.form", nil), want: sms},
		{name: "mms with two media", form: seedForm(t, "inbound_mms.form", nil), want: twilio.Inbound{
			MessageSid: mmsSid, AccountSid: accountSid,
			From: "+14155550100", To: "+14155550199",
			Body: "Here are the photos of the damage", NumSegments: 1,
			Media: []twilio.Media{
				{URL: mediaURL("ME11111111111111111111111111111111"), ContentType: "image/jpeg"},
				{URL: mediaURL("ME22222222222222222222222222222222"), ContentType: "image/png"},
			},
			RawFrom: "+14155550100", RawTo: "+14155550199",
		}},
		{name: "messaging service, foreign sender", form: seedForm(t, "inbound_messaging_service.form", nil), want: twilio.Inbound{
			MessageSid: "SMa1b2c3d4e5f60718293a4b5c6d7e8f90", AccountSid: accountSid, MessagingServiceSid: serviceSid,
			From: "+447911123456", To: "+14155550199", Body: "STOP", NumSegments: 1,
			RawFrom: "+447911123456", RawTo: "+14155550199",
		}},
		{name: "whatsapp is not SMS", form: seedForm(t, "inbound_whatsapp_extra_fields.form", nil), wantFields: []string{"From", "To"}},
		{name: "whatsapp extra fields are ignored", form: seedForm(t, "inbound_whatsapp_extra_fields.form", map[string]string{
			"From": "+14155550100", "To": "+14155550199",
		}), want: twilio.Inbound{
			MessageSid: "SM99887766554433221100ffeeddccbbaa", AccountSid: accountSid, MessagingServiceSid: serviceSid,
			From: "+14155550100", To: "+14155550199", Body: "Olá! Can I change my appointment?", NumSegments: 1,
			RawFrom: "+14155550100", RawTo: "+14155550199",
		}},
		{name: "unknown future params are ignored", form: seedForm(t, "inbound_sms.form", map[string]string{
			"SomethingTwilioAddsNextYear": "x", "MediaUrl0": "not even a url",
		}), want: sms},
		{name: "From without plus is normalised, raw kept", form: seedForm(t, "inbound_sms.form", map[string]string{
			"From": "14155550100",
		}), want: with(func(in *twilio.Inbound) { in.RawFrom = "14155550100" })},
		{name: "only the deprecated SmsSid", form: seedForm(t, "inbound_sms.form", map[string]string{
			"MessageSid": "", "SmsMessageSid": "",
		}), want: sms},
		{name: "empty body with media", form: seedForm(t, "inbound_mms.form", map[string]string{
			"Body": "", "NumMedia": "1",
		}), want: twilio.Inbound{
			MessageSid: mmsSid, AccountSid: accountSid,
			From: "+14155550100", To: "+14155550199", NumSegments: 1,
			Media:   []twilio.Media{{URL: mediaURL("ME11111111111111111111111111111111"), ContentType: "image/jpeg"}},
			RawFrom: "+14155550100", RawTo: "+14155550199",
		}},
		{name: "no NumSegments means one", form: seedForm(t, "inbound_sms.form", map[string]string{"NumSegments": ""}), want: sms},
		{name: "three segments", form: seedForm(t, "inbound_sms.form", map[string]string{"NumSegments": "3"}),
			want: with(func(in *twilio.Inbound) { in.NumSegments = 3 })},

		{name: "missing MessageSid", form: seedForm(t, "inbound_sms.form", map[string]string{
			"MessageSid": "", "SmsMessageSid": "", "SmsSid": "",
		}), wantFields: []string{"MessageSid"}},
		{name: "MessageSid not a SID", form: seedForm(t, "inbound_sms.form", map[string]string{"MessageSid": "SM'; DROP TABLE messages"}),
			wantFields: []string{"MessageSid"}},
		{name: "missing AccountSid", form: seedForm(t, "inbound_sms.form", map[string]string{"AccountSid": ""}),
			wantFields: []string{"AccountSid"}},
		{name: "AccountSid of another kind", form: seedForm(t, "inbound_sms.form", map[string]string{"AccountSid": serviceSid}),
			wantFields: []string{"AccountSid"}},
		{name: "From is words", form: seedForm(t, "inbound_sms.form", map[string]string{"From": "hello, world"}),
			wantFields: []string{"From"}},
		{name: "From is two digits", form: seedForm(t, "inbound_sms.form", map[string]string{"From": "12"}),
			wantFields: []string{"From"}},
		{name: "To missing", form: seedForm(t, "inbound_sms.form", map[string]string{"To": ""}),
			wantFields: []string{"To"}},
		{name: "media url not http", form: seedForm(t, "inbound_mms.form", map[string]string{"MediaUrl1": "javascript:alert(1)"}),
			wantFields: []string{"MediaUrl1"}},
		{name: "media url relative", form: seedForm(t, "inbound_mms.form", map[string]string{"MediaUrl0": "/Media/ME1"}),
			wantFields: []string{"MediaUrl0"}},
		{name: "media content type garbage", form: seedForm(t, "inbound_mms.form", map[string]string{"MediaContentType0": "image/"}),
			wantFields: []string{"MediaContentType0"}},
		{name: "NumMedia 3 but one MediaUrl", form: seedForm(t, "inbound_mms.form", map[string]string{
			"NumMedia": "3", "MediaUrl1": "", "MediaContentType1": "",
		}), wantFields: []string{"MediaUrl1"}},
		{name: "NumMedia not a number", form: seedForm(t, "inbound_mms.form", map[string]string{"NumMedia": "two"}),
			wantFields: []string{"NumMedia"}},
		{name: "NumSegments not a number", form: seedForm(t, "inbound_sms.form", map[string]string{"NumSegments": "one"}),
			wantFields: []string{"NumSegments"}},
		{name: "NumSegments negative", form: seedForm(t, "inbound_sms.form", map[string]string{"NumSegments": "-1"}),
			wantFields: []string{"NumSegments"}},
		{name: "Body not UTF-8", form: seedForm(t, "inbound_sms.form", map[string]string{"Body": "caf\xe9"}),
			wantFields: []string{"Body"}},
		{name: "every bad field is named", form: url.Values{"From": {"hello, world"}, "NumSegments": {"x"}}, wantFields: []string{
			"AccountSid", "From", "MessageSid", "NumSegments", "To",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := twilio.ParseInbound(tt.form)
			if tt.wantFields != nil {
				if f := invalidFields(t, err); !slices.Equal(f, tt.wantFields) {
					t.Errorf("invalid fields = %v, want %v", f, tt.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInbound: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseInbound =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestParseInboundKeepsAtMostTenMedia: a form claiming thousands of
// attachments, listing them all or only some, yields Twilio's ten at most.
func TestParseInboundKeepsAtMostTenMedia(t *testing.T) {
	for _, listed := range []int{5000, 12} {
		form := seedForm(t, "inbound_mms.form", map[string]string{"NumMedia": "5000"})
		for i := range listed {
			form.Set("MediaUrl"+strconv.Itoa(i), mediaURL(fmt.Sprintf("ME%032d", i)))
			form.Set("MediaContentType"+strconv.Itoa(i), "image/jpeg")
		}
		in, err := twilio.ParseInbound(form)
		if err != nil {
			t.Fatalf("NumMedia=5000 with %d listed: %v", listed, err)
		}
		if len(in.Media) != 10 || in.Media[9].URL != mediaURL(fmt.Sprintf("ME%032d", 9)) {
			t.Errorf("NumMedia=5000 with %d listed: %d media, want the first 10", listed, len(in.Media))
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		want       twilio.StatusCallback
		wantFields []string
	}{
		{name: "delivered", form: seedForm(t, "status_delivered.form", nil), want: twilio.StatusCallback{
			MessageSid: outSid, AccountSid: accountSid, MessagingServiceSid: serviceSid,
			From: "+14155550199", To: "+14155550100", MessageStatus: "delivered",
		}},
		{name: "undelivered 30003", form: seedForm(t, "status_undelivered_30003.form", nil), want: twilio.StatusCallback{
			MessageSid: outSid, AccountSid: accountSid,
			From: "+14155550199", To: "+14155550100", MessageStatus: "undelivered", ErrorCode: 30003,
		}},
		{name: "failed", form: seedForm(t, "status_failed.form", nil), want: twilio.StatusCallback{
			MessageSid: outSid, AccountSid: accountSid,
			From: "+14155550199", To: "+14155550100", MessageStatus: "failed", ErrorCode: 30034,
		}},
		{name: "only the deprecated SmsSid and SmsStatus", form: seedForm(t, "status_delivered.form", map[string]string{
			"MessageSid": "", "MessageStatus": "", "MessagingServiceSid": "",
		}), want: twilio.StatusCallback{
			MessageSid: outSid, AccountSid: accountSid,
			From: "+14155550199", To: "+14155550100", MessageStatus: "delivered",
		}},
		{name: "short code sender is kept as sent", form: seedForm(t, "status_delivered.form", map[string]string{"From": "88222"}),
			want: twilio.StatusCallback{
				MessageSid: outSid, AccountSid: accountSid, MessagingServiceSid: serviceSid,
				From: "88222", To: "+14155550100", MessageStatus: "delivered",
			}},
		{name: "status Twilio added after the brief", form: seedForm(t, "status_delivered.form", map[string]string{
			"MessageStatus": "partially_delivered", "SmsStatus": "partially_delivered",
		}), want: twilio.StatusCallback{
			MessageSid: outSid, AccountSid: accountSid, MessagingServiceSid: serviceSid,
			From: "+14155550199", To: "+14155550100", MessageStatus: "partially_delivered",
		}},

		{name: "missing MessageSid", form: seedForm(t, "status_delivered.form", map[string]string{"MessageSid": "", "SmsSid": ""}),
			wantFields: []string{"MessageSid"}},
		{name: "missing AccountSid", form: seedForm(t, "status_delivered.form", map[string]string{"AccountSid": ""}),
			wantFields: []string{"AccountSid"}},
		{name: "missing status", form: seedForm(t, "status_delivered.form", map[string]string{"MessageStatus": "", "SmsStatus": ""}),
			wantFields: []string{"MessageStatus"}},
		{name: "unknown status", form: seedForm(t, "status_delivered.form", map[string]string{"MessageStatus": "exploded"}),
			wantFields: []string{"MessageStatus"}},
		{name: "ErrorCode not a number", form: seedForm(t, "status_failed.form", map[string]string{"ErrorCode": "30034x"}),
			wantFields: []string{"ErrorCode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := twilio.ParseStatus(tt.form)
			if tt.wantFields != nil {
				if f := invalidFields(t, err); !slices.Equal(f, tt.wantFields) {
					t.Errorf("invalid fields = %v, want %v", f, tt.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStatus: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseStatus =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestMessageStatus(t *testing.T) {
	tests := []struct{ twilio, want string }{
		{"queued", "queued"},
		{"accepted", "queued"},
		{"scheduled", "queued"},
		{"sending", "sending"},
		{"sent", "sent"},
		{"delivered", "delivered"},
		{"read", "delivered"},
		{"partially_delivered", "delivered"},
		{"undelivered", "undelivered"},
		{"failed", "failed"},
		{"canceled", "failed"},
		{"receiving", "received"},
		{"received", "received"},
		{"Delivered", "delivered"},
		{"", "unknown"},
		{"exploded", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.twilio, func(t *testing.T) {
			if got := twilio.MessageStatus(tt.twilio); got != tt.want {
				t.Errorf("MessageStatus(%q) = %q, want %q", tt.twilio, got, tt.want)
			}
		})
	}
}

// addSeeds adds every webhook body in testdata/twilio to the corpus.
func addSeeds(f *testing.F) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in %s: %v", seedDir, err)
	}
	for _, p := range paths {
		f.Add(readSeed(f, filepath.Base(p)))
	}
}

func readFormString(body string) (url.Values, error) {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/messages", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return twilio.ReadForm(r)
}

func FuzzParseInbound(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := readFormString(body)
		if err != nil {
			return
		}
		twilio.VerifySignature("tok", "https://parley.example.com/webhooks/twilio/messages", form, "c2ln")
		in, err := twilio.ParseInbound(form)
		if err != nil {
			invalidFields(t, err)
			return
		}
		for _, p := range []string{in.From, in.To} {
			if !e164.MatchString(p) {
				t.Fatalf("address %q is not E.164", p)
			}
			if again, err := conversations.NormalizePhone(p); err != nil || again != p {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", p, again, err)
			}
		}
		if in.MessageSid == "" || in.AccountSid == "" {
			t.Fatalf("accepted without SIDs: %+v", in)
		}
		if in.NumSegments < 1 {
			t.Fatalf("NumSegments = %d", in.NumSegments)
		}
		if len(in.Media) > twilio.MaxMedia {
			t.Fatalf("%d media, more than Twilio's %d", len(in.Media), twilio.MaxMedia)
		}
		for _, m := range in.Media {
			u, err := url.Parse(m.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				t.Fatalf("media URL %q accepted", m.URL)
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := readFormString(body)
		if err != nil {
			return
		}
		st, err := twilio.ParseStatus(form)
		if err != nil {
			invalidFields(t, err)
			return
		}
		if st.MessageSid == "" || st.AccountSid == "" {
			t.Fatalf("accepted without SIDs: %+v", st)
		}
		if got := twilio.MessageStatus(st.MessageStatus); got == "unknown" {
			t.Fatalf("accepted status %q maps to unknown", st.MessageStatus)
		}
	})
}
