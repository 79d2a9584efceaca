package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// setActive PATCHes a user's active flag as the bootstrap admin.
func (e *env) setActive(userID any, on bool) map[string]any {
	e.t.Helper()
	return e.must(200, e.admin("PATCH", fmt.Sprintf("/v1/users/%v", userID), map[string]any{"active": on}))
}

// assigneeOf reads the assignee of a conversation as the admin.
func (e *env) assigneeOf(convID any) any {
	e.t.Helper()
	return e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%v", convID), nil))["assignee_id"]
}

func TestDeactivatedUserIsCutOffAndTheirConversationsRequeued(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	e.rtSwitch(true)
	ann, annToken, _ := e.addStaff("ann@example.com", "agent", false)
	ben, benToken, _ := e.addStaff("ben@example.com", "agent", false)
	// Ann is first in line: everything goes to her while she is active.
	e.rtTable("Everyone", true, rtEntry("priority", []map[string]any{ann, ben}, nil))
	minted := e.must(201, e.call(annToken, "POST", fmt.Sprintf("/v1/users/%v/tokens", ann["id"]), nil))["token"].(string)

	e.text("+14155550701", "Hello?")
	conv := e.conversationOf("+14155550701")
	e.eventually("the first conversation assigned to Ann", func() bool { return e.assigneeOf(conv["id"]) == ann["id"] })

	if u := e.setActive(ann["id"], false); u["active"] != false {
		t.Fatalf("PATCH active=false answered %v", u)
	}
	for name, tok := range map[string]string{"her first token": annToken, "the token she minted herself": minted} {
		r := e.call(tok, "GET", "/v1/me", nil)
		wantAPIError(t, r, 401, "unauthenticated")
		if !strings.Contains(string(r.Body), "deactivated") {
			t.Errorf("%s: %s; want the 401 to say the user was deactivated", name, r.Body)
		}
	}
	e.eventually("Ann's conversation auto-assigned to Ben", func() bool { return e.assigneeOf(conv["id"]) == ben["id"] })
	events := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%v/events", conv["id"]), nil))["data"].([]any)
	var reasons []any
	for _, ev := range events {
		if ev := ev.(map[string]any); ev["type"] == "assignee_changed" {
			reasons = append(reasons, ev["data"].(map[string]any)["reason"])
		}
	}
	if fmt.Sprint(reasons) != "[auto_assigned user_deactivated auto_assigned]" {
		t.Errorf("assignee changes %v; want auto_assigned, user_deactivated, auto_assigned", reasons)
	}

	e.text("+14155550702", "Anyone?")
	next := e.conversationOf("+14155550702")
	e.eventually("a new conversation assigned", func() bool { return e.assigneeOf(next["id"]) != nil })
	if got := e.assigneeOf(next["id"]); got != ben["id"] {
		t.Errorf("a new conversation went to %v; want Ben, never the deactivated Ann", got)
	}
	users := e.must(200, e.admin("GET", "/v1/users", nil))["data"].([]any)
	for _, u := range users {
		if u := u.(map[string]any); u["active"] != (u["id"] != ann["id"]) {
			t.Errorf("user %v: active %v", u["email"], u["active"])
		}
	}
	e.must(200, e.call(benToken, "GET", "/v1/me", nil))

	// Reactivated, Ann's tokens work again; a revoked one would not.
	e.setActive(ann["id"], true)
	e.must(200, e.call(minted, "GET", "/v1/me", nil))
}

func TestDeactivationRules(t *testing.T) {
	e := boot(t, "")
	me := e.must(200, e.admin("GET", "/v1/me", nil))
	ann, annToken, _ := e.addStaff("ann@example.com", "agent", true)
	boss, bossToken, _ := e.addStaff("boss@example.com", "admin", false)

	wantAPIError(t, e.admin("PATCH", fmt.Sprintf("/v1/users/%v", me["id"]), map[string]any{"active": false}), 422, "", "active")
	wantAPIError(t, e.call(annToken, "PATCH", fmt.Sprintf("/v1/users/%v", boss["id"]), map[string]any{"active": false}), 403, "forbidden")
	wantAPIError(t, e.call(annToken, "PATCH", "/v1/me", map[string]any{"active": false}), 422, "", "active")
	e.must(200, e.call(bossToken, "GET", "/v1/me", nil))
	e.must(200, e.admin("GET", "/v1/me", nil))
	if u := e.must(200, e.admin("GET", fmt.Sprintf("/v1/users/%v", ann["id"]), nil)); u["active"] != true {
		t.Errorf("user = %v; want active", u)
	}
}

func TestListTokens(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	e := boot(t, "", withClock(clock))
	ann, annToken, annTokenID := e.addStaff("ann@example.com", "agent", false)
	ben, _, _ := e.addStaff("ben@example.com", "agent", false)
	second := e.must(201, e.admin("POST", fmt.Sprintf("/v1/users/%v/tokens", ann["id"]), nil))
	revoked := e.must(201, e.admin("POST", fmt.Sprintf("/v1/users/%v/tokens", ann["id"]), nil))
	e.must(204, e.admin("DELETE", fmt.Sprintf("/v1/tokens/%v", revoked["id"]), nil))
	annTokens := fmt.Sprintf("/v1/users/%v/tokens", ann["id"])

	lastUsed := func(as string) any {
		t.Helper()
		r := e.call(as, "GET", annTokens, nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		toks := r.Data()
		if len(toks) != 2 || toks[0]["id"] != annTokenID || toks[1]["id"] != second["id"] {
			t.Fatalf("tokens = %v; want her two unrevoked ones", toks)
		}
		for _, tok := range toks {
			if _, secret := tok["token"]; secret || !strings.HasPrefix(tok["prefix"].(string), "prl_") || tok["created_at"] == nil {
				t.Errorf("listed token %v; want id, prefix, created_at, last_used_at and no secret", tok)
			}
		}
		if toks[1]["last_used_at"] != nil {
			t.Errorf("the unused token's last_used_at = %v", toks[1]["last_used_at"])
		}
		return toks[0]["last_used_at"]
	}

	at := func(d time.Duration) string { return clock.Now().Add(d).Format(time.RFC3339) }
	start := at(0)
	if got := lastUsed(e.token); got != nil {
		t.Errorf("before any use: last_used_at = %v", got)
	}
	if got := lastUsed(annToken); got != start { // her own list, with the token listed
		t.Errorf("after a use: last_used_at = %v; want %s", got, start)
	}
	clock.Advance(30 * time.Second)
	if got := lastUsed(annToken); got != start {
		t.Errorf("30 s later: last_used_at = %v; want %s still (kept to the minute)", got, start)
	}
	clock.Advance(45 * time.Second)
	if got := lastUsed(annToken); got != at(0) {
		t.Errorf("75 s later: last_used_at = %v; want %s", got, at(0))
	}

	wantAPIError(t, e.call(annToken, "GET", fmt.Sprintf("/v1/users/%v/tokens", ben["id"]), nil), 403, "forbidden")
	acme := e.staffSecondAccount()
	wantAPIError(t, e.call(acme, "GET", annTokens, nil), 404, "")
	wantAPIError(t, e.admin("GET", annTokens+"?limit=0", nil), 422, "", "limit")
}

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
		// A guard should it serve after all: the token is refused once the
		// database is migrated, which under the race detector on a busy
		// machine took more than 5 s.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := run(ctx, []string{"serve"}, env, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "PARLEY_BOOTSTRAP_TOKEN must be at least 32 characters") {
			t.Fatalf("serve with a 31-character bootstrap token: %v; want a clear error", err)
		}

		e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.BootstrapToken = long })
		me := e.must(200, e.call(long, "GET", "/v1/me", nil))
		toks := e.must(200, e.call(long, "GET", fmt.Sprintf("/v1/users/%v/tokens", me["id"]), nil))["data"].([]any)
		prefix := toks[0].(map[string]any)["prefix"].(string)
		for i := 0; i+3 <= len(long); i++ {
			if strings.Contains(prefix, long[i:i+3]) {
				t.Errorf("stored prefix %q reveals %q of the bootstrap token", prefix, long[i:i+3])
			}
		}
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
