package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownDrainsThenASecondSignalExits runs `parley serve` as a
// process: after SIGTERM it keeps serving while /readyz answers 503 (load
// balancers drain), and a second SIGTERM ends it at once.
func TestShutdownDrainsThenASecondSignalExits(t *testing.T) {
	carrier := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(carrier.Close)
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "parley.db")
	p := startParley(t, "parley", dbURL, carrier.URL, publicURL, time.Minute, "PARLEY_SHUTDOWN_DRAIN=1m")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := call(t, p.base, "GET", "/readyz")
		if r.Status == http.StatusServiceUnavailable && r.JSON()["status"] == "unavailable" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d %s after SIGTERM", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := call(t, p.base, "GET", "/v1/me"); r.Status != http.StatusOK {
		t.Errorf("a request while draining answered %d %s", r.Status, r.Body)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the second SIGTERM did not end the process")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the second SIGTERM took %s to end the process", took)
	}
}

// TestShutdownWaitsForBackgroundWorkBoundedly gives the program a stuck
// background job: Close gives up on it after the grace, says so, and
// still closes.
func TestShutdownWaitsForBackgroundWorkBoundedly(t *testing.T) {
	e := boot(t, "")
	stuck := make(chan struct{})
	t.Cleanup(func() {
		close(stuck)
		e.main.stopErr = nil // checked below; the harness closes again
	})
	e.main.bgGrace = 300 * time.Millisecond
	e.main.goBackground(func() { <-stuck })

	closed := make(chan error, 1)
	go func() { closed <- e.main.Close() }()
	select {
	case err := <-closed:
		if err == nil || !strings.Contains(err.Error(), "background work still running") {
			t.Errorf("Close = %v, want an error naming the background work left running", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for a stuck background job after 10 s")
	}
	if !strings.Contains(e.logs.String(), "exiting anyway") {
		t.Errorf("no log line says shutdown gave up waiting:\n%s", e.logs.String())
	}
}
