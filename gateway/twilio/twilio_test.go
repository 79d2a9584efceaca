package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/gateway/twilio"
)

// Twilio's published test vector (twilio-go client/request_validator_test.go).
const (
	vectorToken     = "12345"
	vectorURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorSignature = "vOEb5UThFn24KEfnOFLQY2AE5FY="
)

func vectorParams() url.Values {
	return url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
}

// sign computes X-Twilio-Signature the way Twilio documents it, for cases
// the published vector does not cover.
func sign(token, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + params.Get(k)
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	changed := vectorParams()
	changed.Set("Digits", "1235")
	extra := vectorParams()
	extra.Set("Injected", "1")
	repeated := vectorParams()
	repeated.Add("Digits", "9999") // Twilio signs the first value only

	tests := []struct {
		name      string
		token     string
		url       string
		params    url.Values
		signature string
		want      bool
	}{
		{"published vector", vectorToken, vectorURL, vectorParams(), vectorSignature, true},
		{"default port in our URL, Twilio signed without", vectorToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorParams(), vectorSignature, true},
		{"Twilio signed with the default port, our URL has none", vectorToken, vectorURL, vectorParams(),
			sign(vectorToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorParams()), true},
		{"later values of a repeated key are not signed", vectorToken, vectorURL, repeated, vectorSignature, true},
		{"changed param", vectorToken, vectorURL, changed, vectorSignature, false},
		{"added param", vectorToken, vectorURL, extra, vectorSignature, false},
		{"changed path", vectorToken, "https://mycompany.com/other.php?foo=1&bar=2", vectorParams(), vectorSignature, false},
		{"changed query", vectorToken, "https://mycompany.com/myapp.php?foo=2&bar=2", vectorParams(), vectorSignature, false},
		{"changed host", vectorToken, "https://evil.example/myapp.php?foo=1&bar=2", vectorParams(), vectorSignature, false},
		{"http instead of https", vectorToken, "http://mycompany.com/myapp.php?foo=1&bar=2", vectorParams(), vectorSignature, false},
		{"other token", "54321", vectorURL, vectorParams(), vectorSignature, false},
		{"empty token", "", vectorURL, vectorParams(), sign("", vectorURL, vectorParams()), false},
		{"empty signature", vectorToken, vectorURL, vectorParams(), "", false},
		{"garbage signature", vectorToken, vectorURL, vectorParams(), "not base64!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twilio.VerifySignature(tt.token, tt.url, tt.params, tt.signature); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestVerifySignatureCostIsLinear: a forged body of the largest size made
// of short parameters costs the signature check a few times its size, not
// its size squared.
func TestVerifySignatureCostIsLinear(t *testing.T) {
	form := url.Values{}
	for size, i := 0, 0; size < 64<<10; i++ {
		name := "k" + strconv.Itoa(i)
		form.Set(name, "")
		size += len(name) + len("=&")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if twilio.VerifySignature("s3cr3tT0ken", "https://parley.example.com/webhooks/twilio/messages", form, "c2lnbmF0dXJl") {
		t.Fatal("a forged signature was accepted")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Errorf("checking the signature of a 64 KiB form of %d parameters allocated %d bytes, want at most 2 MiB", len(form), got)
	}
}

// TestVerifySignatureOfReadForm checks the pair the handlers use: a body
// read by ReadForm verifies against the public URL, query included, and
// the query's values are not mistaken for signed parameters.
func TestVerifySignatureOfReadForm(t *testing.T) {
	body := readSeed(t, "inbound_sms.form")
	const public = "https://parley.example.com"
	r := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/messages?channel=7", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	signed, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	sig := sign("s3cr3tT0ken", public+"/webhooks/twilio/messages?channel=7", signed)

	form, err := twilio.ReadForm(r)
	if err != nil {
		t.Fatalf("ReadForm: %v", err)
	}
	if !twilio.VerifySignature("s3cr3tT0ken", public+r.URL.RequestURI(), form, sig) {
		t.Error("a correctly signed webhook was rejected")
	}
	if twilio.VerifySignature("s3cr3tT0ken", public+r.URL.Path, form, sig) {
		t.Error("the signature was accepted without the query it covers")
	}
}

func TestReadForm(t *testing.T) {
	const formType = "application/x-www-form-urlencoded"
	big := "Body=" + strings.Repeat("a", twilio.MaxBodyBytes)
	exact := "Body=" + strings.Repeat("a", twilio.MaxBodyBytes-len("Body="))
	params := func(n int) string {
		names := make([]string, n)
		for i := range names {
			names[i] = "k" + strconv.Itoa(i) + "="
		}
		return strings.Join(names, "&")
	}

	tests := []struct {
		name        string
		contentType string
		body        io.Reader
		unknownLen  bool // as with chunked encoding
		wantKind    string
		wantBody    string
	}{
		{name: "form", contentType: formType, body: strings.NewReader("Body=Hi+there%21&From=%2B14155550100"), wantBody: "Hi there!"},
		{name: "form with charset", contentType: formType + "; charset=UTF-8", body: strings.NewReader("Body=Ol%C3%A1"), wantBody: "Olá"},
		{name: "empty body", contentType: formType, body: strings.NewReader("")},
		{name: "exactly the limit", contentType: formType, body: strings.NewReader(exact), wantBody: exact[len("Body="):]},
		{name: "over the limit", contentType: formType, body: strings.NewReader(big), wantKind: parley.ETOOLARGE},
		{name: "over the limit, length unknown", contentType: formType, body: strings.NewReader(big), unknownLen: true, wantKind: parley.ETOOLARGE},
		{name: "256 parameters", contentType: formType, body: strings.NewReader(params(255) + "&Body=x"), wantBody: "x"},
		{name: "257 parameters", contentType: formType, body: strings.NewReader(params(256) + "&Body=x"), wantKind: parley.ETOOLARGE},
		{name: "bad percent-encoding", contentType: formType, body: strings.NewReader("Body=100%&From=%2B14155550100"), wantKind: parley.EMALFORMED},
		{name: "bad percent-encoding in a key", contentType: formType, body: strings.NewReader("Bo%zzdy=x"), wantKind: parley.EMALFORMED},
		{name: "json", contentType: "application/json", body: strings.NewReader(`{"Body":"Hi"}`), wantKind: parley.EMALFORMED},
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: strings.NewReader("--x--"), wantKind: parley.EMALFORMED},
		{name: "no content type", body: strings.NewReader("Body=Hi"), wantKind: parley.EMALFORMED},
		{name: "unparseable content type", contentType: "application/x-www-form-urlencoded; ;;", body: strings.NewReader("Body=Hi"), wantKind: parley.EMALFORMED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/messages?Body=from-query", tt.body)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.unknownLen {
				r.ContentLength = -1
			}
			form, err := twilio.ReadForm(r)
			if tt.wantKind != "" {
				if !parley.IsKind(err, tt.wantKind) {
					t.Fatalf("ReadForm error = %v, want kind %s", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadForm: %v", err)
			}
			if got := form.Get("Body"); got != tt.wantBody {
				t.Errorf("Body = %.40q, want %.40q (the query string must not be merged in)", got, tt.wantBody)
			}
		})
	}
}
