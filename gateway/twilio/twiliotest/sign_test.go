package twiliotest_test

import (
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// TestSignTwilioTestVector checks Sign against the vector Twilio publishes
// (twilio-go client/request_validator_test.go).
func TestSignTwilioTestVector(t *testing.T) {
	params := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	got := twiliotest.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

// TestSignValidatesWithTwilioGo checks that what Sign produces is accepted
// by twilio-go's RequestValidator, which is what Parley's adapter uses, and
// that a changed URL, parameter or token is refused.
func TestSignValidatesWithTwilioGo(t *testing.T) {
	base := url.Values{"MessageSid": {"SM0123"}, "Body": {"Héllo 👋 & <you>"}, "From": {"+14155550100"}}
	tests := []struct {
		name     string
		signURL  string
		checkURL string
		token    string
		params   url.Values
		checked  url.Values
		want     bool
	}{
		{name: "same url and params", signURL: "https://parley.example.com/webhooks/twilio/messages",
			params: base, want: true},
		{name: "url with query", signURL: "https://parley.example.com/webhooks/twilio/status?m=42&x=a%20b",
			params: base, want: true},
		{name: "no params", signURL: "http://127.0.0.1:8080/webhooks/twilio/status", params: url.Values{}, want: true},
		{name: "explicit default port", signURL: "https://parley.example.com:443/hook", params: base, want: true},
		{name: "other host", signURL: "https://parley.example.com/webhooks/twilio/messages",
			checkURL: "http://127.0.0.1:8080/webhooks/twilio/messages", params: base, want: false},
		{name: "changed body", signURL: "https://parley.example.com/hook", params: base,
			checked: url.Values{"MessageSid": {"SM0123"}, "Body": {"Hello"}, "From": {"+14155550100"}}, want: false},
		{name: "other token", signURL: "https://parley.example.com/hook", token: "wrong", params: base, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := twiliotest.Sign(tokenA, tt.signURL, tt.params)
			checkURL, checked, token := tt.signURL, tt.params, tokenA
			if tt.checkURL != "" {
				checkURL = tt.checkURL
			}
			if tt.checked != nil {
				checked = tt.checked
			}
			if tt.token != "" {
				token = tt.token
			}
			v := client.NewRequestValidator(token)
			if got := v.ValidateBody(checkURL, []byte(checked.Encode()), sig); got != tt.want {
				t.Errorf("twilio-go ValidateBody = %v, want %v", got, tt.want)
			}
		})
	}
}
