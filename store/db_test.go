package store

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPoolSizeParameter(t *testing.T) {
	tests := []struct {
		url, wantURL string
		want         int
		ok           bool
	}{
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", defaultMaxConns, true},
		{"postgres://u@h/db?parley_max_conns=8&sslmode=disable", "postgres://u@h/db?sslmode=disable", 8, true},
		{"postgres://u@h/db?parley_max_conns=0", "", 0, false},
		{"postgres://u@h/db?parley_max_conns=lots", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, n, err := poolSize(tt.url)
			if (err == nil) != tt.ok || n != tt.want || (tt.ok && got != tt.wantURL) {
				t.Errorf("poolSize = %q, %d, %v; want %q, %d", got, n, err, tt.wantURL, tt.want)
			}
		})
	}
}

func TestGroupCommitParameter(t *testing.T) {
	tests := []struct {
		url, wantURL string
		on, ok       bool
	}{
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", true, true},
		{"postgres://u@h/db?parley_group_commit=off&sslmode=disable", "postgres://u@h/db?sslmode=disable", false, true},
		{"postgres://u@h/db?parley_group_commit=on", "postgres://u@h/db", true, true},
		{"postgres://u@h/db?parley_group_commit=maybe", "", false, false},
	}
	for _, tt := range tests {
		got, on, err := groupCommitSetting(tt.url)
		if (err == nil) != tt.ok || on != tt.on || (tt.ok && got != tt.wantURL) {
			t.Errorf("groupCommitSetting(%q) = %q, %v, %v; want %q, %v", tt.url, got, on, err, tt.wantURL, tt.on)
		}
	}
}

// The URL is logged at startup ("database ready") and put in errors: no
// password may survive, wherever lib/pq would take it from.
func TestRedactDatabaseURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable"},
		{"postgres://u:secret@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db?password=secret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u:a@h/db?sslpassword=secret", "postgres://u:xxxxx@h/db?sslpassword=xxxxx"},
		{"postgres://u:se%zzcret@h/db", "postgres://…"},
	}
	for _, tt := range tests {
		if got := redact(tt.url); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// A PostgreSQL that takes the connection and never answers (a hung
// server, a proxy whose backend is gone) must fail Open after the connect
// timeout: lib/pq alone waits for ever, whatever the context says.
func TestOpenGivesUpOnAServerThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	saved := connectTimeout
	connectTimeout = time.Second
	defer func() { connectTimeout = saved }()
	t.Setenv("PGCONNECT_TIMEOUT", "") // restored after the test
	os.Unsetenv("PGCONNECT_TIMEOUT")
	done := make(chan error, 1)
	go func() {
		db, err := Open(context.Background(), "postgres://u@"+ln.Addr().String()+"/db?sslmode=disable")
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("Open = %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open still waiting 10 s after a 1 s connect timeout")
	}
	if got := withSessionDefaults("postgres://u@h/db?connect_timeout=3"); !strings.Contains(got, "connect_timeout=3") {
		t.Errorf("the URL's own connect_timeout was replaced: %s", got)
	}
}

// A new SQLite database holds carrier auth tokens: it and the -wal and
// -shm files SQLite makes after it are readable by their owner only,
// whatever the umask.
func TestNewSQLiteDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(name), perm)
		}
	}
}
