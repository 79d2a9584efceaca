package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/store"
)

func getenvFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, getenvFrom(nil), &out, &out); err != nil || !strings.HasPrefix(out.String(), "parley ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"frobnicate"}, getenvFrom(nil), &out, &out); err == nil || !strings.Contains(out.String(), "usage") {
		t.Errorf("unknown command: %v %q", err, out.String())
	}
}

func TestEveryDocumentedSettingIsAFlagAndAnEnvVar(t *testing.T) {
	vars := map[string]string{
		"PARLEY_ADDR": "127.0.0.1:9999", "PARLEY_DATABASE_URL": "sqlite://x.db", "PARLEY_PUBLIC_URL": "https://p.example.com/",
		"PARLEY_BOOTSTRAP_TOKEN": "tok", "PARLEY_LOG_LEVEL": "warn", "PARLEY_LOG_FORMAT": "json", "PARLEY_TWILIO_API_URL": "http://127.0.0.1:1",
		"PARLEY_OUTBOX_LEASE": "30s", "PARLEY_SHUTDOWN_DRAIN": "2s", "PARLEY_STATUS_CHECKS_PER_SECOND": "3",
		"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true",
		"PARLEY_EVENT_RETENTION":       "36h",
	}
	cfg, err := parseConfig("serve", nil, getenvFrom(vars), io.Discard, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:9999", DatabaseURL: "sqlite://x.db", PublicURL: "https://p.example.com", BootstrapToken: "tok",
		LogLevel: "warn", LogFormat: "json", TwilioAPIURL: "http://127.0.0.1:1", TokenFile: "parley-admin.token",
		OutboxLease: "30s", lease: 30 * time.Second, ShutdownDrain: "2s", drain: 2 * time.Second,
		StatusChecksPerSecond: "3", statusChecks: 3, EventRetention: "36h", retention: 36 * time.Hour,
		WebhookAllowPrivate: "true", allowPrivate: true}
	if cfg != want {
		t.Errorf("from environment:\n got %+v\nwant %+v", cfg, want)
	}
	cfg, err = parseConfig("serve", []string{"--addr", ":7", "--log-level", "debug"}, getenvFrom(vars), io.Discard, io.Discard, nil)
	if err != nil || cfg.Addr != ":7" || cfg.LogLevel != "debug" {
		t.Errorf("flags must override the environment: %+v %v", cfg, err)
	}
	if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{"PARLEY_PUBLIC_URL": "parley.example.com"}), io.Discard, io.Discard, nil); err == nil {
		t.Error("a public URL without a scheme was accepted")
	}
	for _, bad := range []string{"soon", "10ms", "5s"} {
		if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{"PARLEY_OUTBOX_LEASE": bad}), io.Discard, io.Discard, nil); err == nil {
			t.Errorf("outbox lease %q was accepted", bad)
		}
	}
	for _, bad := range []string{"-1", "1.5", "many", "1000"} {
		if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{"PARLEY_STATUS_CHECKS_PER_SECOND": bad}), io.Discard, io.Discard, nil); err == nil {
			t.Errorf("%q status checks a second was accepted", bad)
		}
	}
	if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{"PARLEY_WEBHOOK_ALLOW_PRIVATE": "sometimes"}), io.Discard, io.Discard, nil); err == nil {
		t.Error("PARLEY_WEBHOOK_ALLOW_PRIVATE=sometimes was accepted")
	}
	if cfg, err := parseConfig("serve", nil, getenvFrom(nil), io.Discard, io.Discard, nil); err != nil || cfg.allowPrivate {
		t.Errorf("private webhook targets are allowed by default (%v)", err)
	}
	for _, bad := range []string{"1h", "23h59m", "forever"} {
		if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{"PARLEY_EVENT_RETENTION": bad}), io.Discard, io.Discard, nil); err == nil {
			t.Errorf("an event retention of %q was accepted", bad)
		}
	}
}

func TestGeneratedBootstrapTokenGoesToAPrivateFileNotTheLog(t *testing.T) {
	e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.BootstrapToken = "" })
	info, err := os.Stat(e.main.Config.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(e.main.Config.TokenFile)
	token := strings.TrimSpace(string(raw))
	if r := e.call(token, "GET", "/v1/me", nil); r.Status != 200 || r.JSON()["role"] != "admin" {
		t.Errorf("generated token: %d %s", r.Status, r.Body)
	}
	if strings.Contains(e.logs.String(), token) {
		t.Error("the generated token was logged")
	}
	if !strings.Contains(e.logs.String(), e.main.Config.TokenFile) {
		t.Error("the token file's path was not logged")
	}
}

func TestMigrateThenAccountCreateThenServe(t *testing.T) {
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "p.db")
	env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": dbURL})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "schema version") {
		t.Fatalf("migrate: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", "acme-admin-token-000000000000000000"}, env, &out, &out); err != nil {
		t.Fatalf("account create: %v %q", err, out.String())
	}
	if !strings.Contains(out.String(), "acme-admin-token-000000000000000000") {
		t.Errorf("account create must print the admin token: %q", out.String())
	}
	if err := run(context.Background(), []string{"account", "create"}, env, &out, io.Discard); err == nil {
		t.Error("account create without --name succeeded")
	}
	e := boot(t, dbURL, func(c *Config, _ *twiliotestConfig) { c.BootstrapToken = "" })
	if r := e.call("acme-admin-token-000000000000000000", "GET", "/v1/me", nil); r.Status != 200 {
		t.Errorf("the created account's admin cannot sign in: %d", r.Status)
	}
	if _, err := os.Stat(e.main.Config.TokenFile); !os.IsNotExist(err) {
		t.Error("a database with an account was bootstrapped again")
	}
}

func TestRefusesASchemaNewerThanItKnows(t *testing.T) {
	ctx := context.Background()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "p.db")
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rawSQL(t, dbURL).ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m := NewMain(Config{Addr: "127.0.0.1:0", DatabaseURL: dbURL, PublicURL: publicURL, LogLevel: "info", LogFormat: "json", TokenFile: filepath.Join(t.TempDir(), "t")}, io.Discard)
	err = m.Run(ctx)
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Run on a newer schema = %v, want a refusal", err)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := boot(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.call("", "GET", path, nil); r.Status != 200 {
			t.Errorf("%s = %d %s", path, r.Status, r.Body)
		}
	}
}

func TestRequestIDsInLogsAndHeaders(t *testing.T) {
	e := boot(t, "")
	r := e.admin("GET", "/v1/me", nil)
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id header")
	}
	if !strings.Contains(e.logs.String(), `"req_id":"`+id+`"`) {
		t.Errorf("request id %s not in the access log", id)
	}
}

// TestShutdownFinishesInFlightRequests sends half a webhook, stops the
// server, then sends the rest: the request must still be answered.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	form := inboundForm(phone, "sent during shutdown", "SM00000000000000000000000000000042")
	body := form.Encode()
	path := "/webhooks/twilio/messages"
	conn, err := net.Dial("tcp", e.main.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: %s\r\nContent-Length: %d\r\n\r\n%s",
		path, signFor(path, form), len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // the server is now reading the body

	closed := make(chan error, 1)
	go func() { closed <- e.main.Close() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	default:
	}
	fmt.Fprint(conn, body[10:])
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if res.StatusCode != 200 {
		t.Errorf("in-flight request answered %d", res.StatusCode)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func signFor(path string, form url.Values) string {
	return twiliotestSign(authToken, publicURL+path, form)
}

// A setting that cannot work stops the program before it touches the
// database, naming its variable: a public URL with a query (every webhook
// signature would fail), a carrier API URL that is not http(s), a listen
// address without a port.
func TestBadURLsAndAddressesFailAtStartNamingTheirVariable(t *testing.T) {
	for _, tt := range []struct{ name, value string }{
		{"PARLEY_PUBLIC_URL", "https://sms.example.com?x=1"},
		{"PARLEY_PUBLIC_URL", "https://sms.example.com/#top"},
		{"PARLEY_PUBLIC_URL", "https://"},
		{"PARLEY_PUBLIC_URL", "https://user:pw@sms.example.com"},
		{"PARLEY_PUBLIC_URL", "http://sms.example .com"},
		{"PARLEY_TWILIO_API_URL", "127.0.0.1:8090"},
		{"PARLEY_TELNYX_API_URL", "ftp://x"},
		{"PARLEY_PLIVO_API_URL", "http://"},
		{"PARLEY_BANDWIDTH_API_URL", "not a url"},
		{"PARLEY_VONAGE_API_URL", "https://h?q=1"},
		{"PARLEY_BIRD_API_URL", "mailto:a@b"},
		{"PARLEY_ADDR", "garbage"},
		{"PARLEY_ADDR", "127.0.0.1:99999"},
	} {
		_, err := parseConfig("serve", nil, getenvFrom(map[string]string{tt.name: tt.value}), io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s=%q: %v, want an error naming %s", tt.name, tt.value, err, tt.name)
		}
	}
	for _, tt := range []struct{ name, value string }{
		{"PARLEY_PUBLIC_URL", "https://sms.example.com/parley/"},
		{"PARLEY_PUBLIC_URL", "http://127.0.0.1:8080"},
		{"PARLEY_TELNYX_API_URL", "http://127.0.0.1:8090/telnyx"},
		{"PARLEY_ADDR", ":0"},
		{"PARLEY_ADDR", "[::1]:8080"},
	} {
		if _, err := parseConfig("serve", nil, getenvFrom(map[string]string{tt.name: tt.value}), io.Discard, io.Discard, nil); err != nil {
			t.Errorf("%s=%q refused: %v", tt.name, tt.value, err)
		}
	}
}

// PARLEY_LOG_LEVEL takes the four levels it documents; zerolog's others
// (disabled would hide every error) are refused.
func TestLogLevelTakesOnlyTheDocumentedLevels(t *testing.T) {
	for _, level := range []string{"debug", "info", "warn", "error", "INFO"} {
		if _, err := newLogger(Config{LogLevel: level, LogFormat: "json"}, io.Discard); err != nil {
			t.Errorf("PARLEY_LOG_LEVEL=%s: %v", level, err)
		}
	}
	for _, level := range []string{"disabled", "trace", "fatal", "panic", "-1", "5", "verbose", ""} {
		if _, err := newLogger(Config{LogLevel: level, LogFormat: "json"}, io.Discard); err == nil || !strings.Contains(err.Error(), "PARLEY_LOG_LEVEL") {
			t.Errorf("PARLEY_LOG_LEVEL=%q: %v, want refused", level, err)
		}
	}
}

// A command's refusal reads as a sentence naming what to change, not as
// the API error's Go form ("parley error: kind=invalid code=…").
func TestAccountCreateRefusalsNameWhatIsWrong(t *testing.T) {
	env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "p.db")})
	token := "acme-admin-token-000000000000000000"
	if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", token}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "create", "--name", "Beta", "--email", "not-an-email"}, "email"},
		{[]string{"account", "create", "--name", "Beta", "--token", token}, "--token"},
	} {
		err := run(context.Background(), tt.args, env, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "kind=") {
			t.Errorf("parley %s: %v, want a refusal naming %s", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

// TestWarnsOfAPublicURLOnThisMachine: PARLEY_PUBLIC_URL left at its
// default (or any loopback URL) fails every real carrier's webhooks, so
// the server says so when it starts; a public URL starts it quietly.
func TestWarnsOfAPublicURLOnThisMachine(t *testing.T) {
	const warning = "PARLEY_PUBLIC_URL names this machine"
	for _, tt := range []struct {
		url  string
		warn bool
	}{
		{"http://localhost:8080", true},
		{"http://127.0.0.1:9000/parley", true},
		{"http://[::1]:8080", true},
		{publicURL, false},
	} {
		e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.PublicURL = tt.url })
		if got := strings.Contains(e.logs.String(), warning); got != tt.warn {
			t.Errorf("PARLEY_PUBLIC_URL=%s: warned %v, want %v", tt.url, got, tt.warn)
		}
	}
}
