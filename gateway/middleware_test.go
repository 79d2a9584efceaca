package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// panickingHandler stands for a handler with a bug.
func panickingHandler(http.ResponseWriter, *http.Request) {
	panic("a handler bug")
}

func TestAPanicIsLoggedWithItsStack(t *testing.T) {
	var logs bytes.Buffer
	h := withMiddleware(zerolog.New(&logs), http.HandlerFunc(panickingHandler))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/me", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "bug") {
		t.Errorf("answer %d %s, want a 500 without internals", rec.Code, rec.Body)
	}
	line := logLine(t, &logs, "handler panicked")
	stack, _ := line["stack"].(string)
	if !strings.Contains(stack, "gateway.panickingHandler") {
		t.Errorf("the panic's log line has no stack naming the panicking function: %v", line)
	}
}

func TestAccessLogLevelsAndDuration(t *testing.T) {
	var logs bytes.Buffer
	h := NewHandler(Deps{Log: zerolog.New(&logs).Level(zerolog.DebugLevel)})
	for path, level := range map[string]string{
		"/healthz": "debug", "/readyz": "debug", "/metrics": "debug",
		"/openapi.json": "info", "/v1/me": "info",
	} {
		logs.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		line := logLine(t, &logs, "request")
		if line["level"] != level {
			t.Errorf("GET %s logged at %v, want %s", path, line["level"], level)
		}
		if _, ok := line["duration_ms"].(float64); !ok {
			t.Errorf("GET %s: no duration_ms number in %v", path, line)
		}
	}
}

// logLine returns the JSON log line with message msg.
func logLine(t *testing.T, logs *bytes.Buffer, msg string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == msg {
			return line
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}

// TestLoggedPathHidesLinkSecrets: a set-password link's secret is a
// credential; the access log keeps only the route.
func TestLoggedPathHidesLinkSecrets(t *testing.T) {
	if got := loggedPath("/set-password/prl_abcdefgh"); strings.Contains(got, "prl_abcdefgh") {
		t.Fatalf("logged %q", got)
	}
	if got := loggedPath("/inbox/conversations/4"); got != "/inbox/conversations/4" {
		t.Fatalf("logged %q for an ordinary path", got)
	}
	// A Bandwidth channel's URLs carry its webhook token.
	if got := loggedPath("/webhooks/bandwidth/9900001.e7be7cf6450b1b391e17/messages"); got != "/webhooks/bandwidth/9900001.…/messages" {
		t.Fatalf("logged %q for a Bandwidth webhook", got)
	}
	if got := loggedPath("/webhooks/plivo/MADEMO00000000000001/messages"); got != "/webhooks/plivo/MADEMO00000000000001/messages" {
		t.Fatalf("logged %q for a Plivo webhook", got)
	}
}
