package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestOperatorTokensAreLongAndNeverStored(t *testing.T) {
	short, long := strings.Repeat("s", 31), "Operator-Chosen-Token-0123456789"
	if len(long) != 32 {
		t.Fatal("the long token must be exactly 32 characters")
	}

	t.Run("bootstrap", func(t *testing.T) {
		dir := t.TempDir()
		env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": "sqlite://" + dir + "/p.db", "PARLEY_ADDR": "127.0.0.1:0",
			"PARLEY_BOOTSTRAP_TOKEN": short, "PARLEY_TOKEN_FILE": dir + "/token"})
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // should it serve after all
		defer cancel()
		err := run(ctx, []string{"serve"}, env, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "PARLEY_BOOTSTRAP_TOKEN must be at least 32 characters") {
			t.Fatalf("serve with a 31-character bootstrap token: %v; want a clear error", err)
		}

		e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.BootstrapToken = long })
		e.must(200, e.call(long, "GET", "/v1/me", nil))
	})

	t.Run("account create", func(t *testing.T) {
		env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": "sqlite://" + t.TempDir() + "/p.db"})
		var out bytes.Buffer
		err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", "a"}, env, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "--token must be at least 32 characters") {
			t.Errorf("--token a: %v; want a clear error", err)
		}
		if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", short}, env, &out, &out); err == nil {
			t.Error("a 31-character --token was accepted")
		}
		out.Reset()
		if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", long}, env, &out, &out); err != nil {
			t.Fatalf("a 32-character --token: %v %s", err, out.String())
		}
		if !strings.Contains(out.String(), long) {
			t.Errorf("account create printed %q; want the token", out.String())
		}
	})
}
