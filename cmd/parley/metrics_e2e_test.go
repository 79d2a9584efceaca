package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// scrape reads /metrics the way Prometheus does: no token.
func (e *env) scrape() string {
	e.t.Helper()
	res, err := checkedClient(e.t).Get("http://" + e.main.Addr() + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		e.t.Fatalf("/metrics answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return string(body)
}

// sample is the value of the series named exactly as given (name and
// labels in Prometheus's sorted order), or -1 when it is absent.
func sample(metrics, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetrics(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	agents, _ := e.rtAgents("metrics", 1)
	e.rtTable("Everyone", true, rtEntry("round_robin", agents, nil))
	e.rtSwitch(true)

	e.text("+14155550301", "Hi, a question")
	res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: "+14155550302", To: business,
		Body: "Twice", MessageSid: "SM" + strings.Repeat("7", 32)})
	if err != nil || res.StatusCode != 200 {
		t.Fatal(err, res.StatusCode)
	}
	if res, err = e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: "+14155550302", To: business,
		Body: "Twice", MessageSid: "SM" + strings.Repeat("7", 32)}); err != nil || res.StatusCode != 200 {
		t.Fatal(err, res.StatusCode)
	}
	forged := url.Values{"AccountSid": {accountSID}, "From": {"+14155550303"}, "To": {business}, "Body": {"forged"}, "MessageSid": {"SM" + strings.Repeat("8", 32)}}
	req, _ := http.NewRequest("POST", "http://"+e.main.Addr()+"/webhooks/twilio/messages", strings.NewReader(forged.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "bm90IHRoZSBzaWduYXR1cmU=")
	if r, err := checkedClient(t).Do(req); err != nil || r.StatusCode != 403 {
		t.Fatalf("forged webhook: %v %v", r, err)
	}
	e.text("+14155550304", "STOP") // a confirmation goes out through the outbox
	e.eventually("the confirmation sent", func() bool { return len(e.received("+14155550304")) == 1 })
	e.must(200, e.admin("GET", "/v1/conversations/1", nil))
	e.eventually("the auto-assignments observed", func() bool {
		return sample(e.scrape(), `parley_autoassign_duration_seconds_count{outcome="assigned"}`) >= 2
	})
	// The carrier holds the confirmation a moment before the outbox records
	// the send, so the gauge settles rather than reads zero at once.
	e.eventually("the outbox drained", func() bool {
		return sample(e.scrape(), `parley_outbox_depth{state="sending"}`) == 0
	})

	m := e.scrape()
	for series, want := range map[string]float64{
		`parley_webhook_duration_seconds_count{carrier="twilio",kind="inbound",outcome="accepted"}`:      3,
		`parley_webhook_duration_seconds_count{carrier="twilio",kind="inbound",outcome="duplicate"}`:     1,
		`parley_webhook_duration_seconds_count{carrier="twilio",kind="inbound",outcome="bad_signature"}`: 1,
		`parley_outbox_depth{state="sending"}`:                                                           0,
		`go_sql_max_open_connections{db_name="sqlite"}`:                                                  -2, // present
	} {
		got := sample(m, series)
		if want == -2 && got < 0 || want >= 0 && got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := sample(m, `parley_outbox_send_duration_seconds_count{carrier="twilio",outcome="sent"}`); got < 1 {
		t.Errorf("sends observed: %v, want at least the STOP confirmation", got)
	}
	// Routes are labelled by template, never by raw path.
	if got := sample(m, `parley_http_request_duration_seconds_count{code="200",method="GET",route="/v1/conversations/{id}"}`); got != 1 {
		t.Errorf("GET /v1/conversations/{id} observed %v times, want 1", got)
	}
	if strings.Contains(m, `route="/v1/conversations/1"`) {
		t.Error("a raw path became a label")
	}
	if strings.Contains(m, "+1415555") {
		t.Error("a phone number appears in the metrics")
	}
}
