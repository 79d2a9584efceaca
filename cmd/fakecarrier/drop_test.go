package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// TestRunDropsStatusCallbacks: with -drop-status-callbacks the carrier
// posts nothing, yet fetching the message tells its delivery.
func TestRunDropsStatusCallbacks(t *testing.T) {
	p := startParley(t)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := []string{"fakecarrier", "-addr", "127.0.0.1:0", "-parley-url", p.URL, "-status-delay", "1ms", "-drop-status-callbacks"}
	go func() { _ = run(ctx, args, env(nil), out) }()
	addr := waitForLine(t, out, regexp.MustCompile(`fake carrier listening .*addr=(\S+)`))

	tw := demoClient(t, "http://"+addr)
	m, err := tw.Api.CreateMessage(new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").
		SetBody("Your table is ready").SetStatusCallback(p.URL + "/webhooks/twilio/status"))
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	status := ""
	for deadline := time.Now().Add(5 * time.Second); status != "delivered" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got, err := tw.Api.FetchMessage(*m.Sid, nil)
		if err != nil {
			t.Fatalf("FetchMessage: %v", err)
		}
		status = *got.Status
	}
	if status != "delivered" {
		t.Fatalf("fetched status %q, want delivered", status)
	}
	time.Sleep(50 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.hooks) != 0 {
		t.Errorf("Parley received %d webhooks, want none", len(p.hooks))
	}
}
