package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// addStaff creates a user as the bootstrap admin and returns it with its
// first token and that token's id.
func (e *env) addStaff(email, role string, viewAll bool) (user map[string]any, token, tokenID string) {
	e.t.Helper()
	out := e.must(201, e.admin("POST", "/v1/users", map[string]any{"email": email, "name": "Staff " + email, "role": role, "view_all_conversations": viewAll}))
	user, _ = out["user"].(map[string]any)
	token, _ = out["token"].(string)
	tokenID, _ = out["token_id"].(string)
	if user == nil || token == "" {
		e.t.Fatalf("create user answered %v, want {user, token}", out)
	}
	return user, token, tokenID
}

// wantAPIError fails t unless r is an API error with the given status, the
// given error.code (when not empty), a message, and every one of fields
// named in error.fields.
func wantAPIError(t *testing.T, r response, status int, code string, fields ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status = %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	var body struct {
		Error *struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error == nil {
		t.Errorf("answer is not an API error body: %v %s", err, r.Body)
		return
	}
	if code != "" && body.Error.Code != code {
		t.Errorf("error.code = %q, want %q: %s", body.Error.Code, code, r.Body)
	}
	if body.Error.Message == "" {
		t.Errorf("error.message is empty: %s", r.Body)
	}
	for _, f := range fields {
		if _, ok := body.Error.Fields[f]; !ok {
			t.Errorf("error.fields = %v, want it to name %q", body.Error.Fields, f)
		}
	}
}

// rawCall sends a request with a raw body and header values as given.
func (e *env) rawCall(method, path, authorization string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := checkedClient(e.t).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: buf.Bytes()}
}

func TestAPIRequiresABearerToken(t *testing.T) {
	e := boot(t, "")
	tests := []struct {
		name, method, path, authorization string
	}{
		{"no Authorization header", "GET", "/v1/me", ""},
		{"a wrong token", "GET", "/v1/me", "Bearer not-a-real-token"},
		{"Basic scheme", "GET", "/v1/me", "Basic x"},
		{"Basic scheme carrying the real token", "GET", "/v1/users", "Basic " + e.token},
		{"Bearer with no token", "GET", "/v1/me", "Bearer "},
		{"the token without a scheme", "GET", "/v1/me", e.token},
		{"no token on a write route", "POST", "/v1/users", ""},
		{"a wrong token on a write route", "PATCH", "/v1/settings/conversations", "Bearer nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.rawCall(tt.method, tt.path, tt.authorization, []byte(`{}`))
			wantAPIError(t, res, 401, "unauthenticated")
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without a WWW-Authenticate header")
			}
		})
	}

	// RFC 7235 §2.1: the auth scheme is case-insensitive, and some HTTP
	// clients send "bearer".
	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		for _, scheme := range []string{"bearer", "BEARER"} {
			if res := e.rawCall("GET", "/v1/me", scheme+" "+e.token, nil); res.Status != 200 {
				t.Errorf("%q scheme: status = %d, want 200: %s", scheme, res.Status, res.Body)
			}
		}
	})

	t.Run("the bootstrap token works", func(t *testing.T) {
		me := e.must(200, e.admin("GET", "/v1/me", nil))
		if me["role"] != "admin" || me["email"] != "admin@parley.local" {
			t.Errorf("me = %v", me)
		}
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		t.Run(path+" needs no auth", func(t *testing.T) {
			if res := e.call("", "GET", path, nil); res.Status != 200 {
				t.Errorf("status = %d: %s", res.Status, res.Body)
			}
		})
	}
}

func TestAdminManagesUsers(t *testing.T) {
	e := boot(t, "")
	me := e.must(200, e.admin("GET", "/v1/me", nil))

	created := e.must(201, e.admin("POST", "/v1/users", map[string]any{"email": "ada@example.com", "name": "Ada", "role": "agent", "view_all_conversations": false}))
	agent, _ := created["user"].(map[string]any)
	agentToken, _ := created["token"].(string)
	if agent == nil || agentToken == "" {
		t.Fatalf("create user = %v, want {user, token}", created)
	}
	for k, want := range map[string]any{"email": "ada@example.com", "name": "Ada", "role": "agent", "view_all_conversations": false, "available": true} {
		if agent[k] != want {
			t.Errorf("new user %s = %v, want %v", k, agent[k], want)
		}
	}
	agentID, _ := agent["id"].(string)
	if agentID == "" {
		t.Fatalf("new user has no string id: %v", agent)
	}

	t.Run("the new token works for GET /v1/me", func(t *testing.T) {
		got := e.must(200, e.call(agentToken, "GET", "/v1/me", nil))
		if got["id"] != agentID || got["role"] != "agent" {
			t.Errorf("me = %v", got)
		}
	})

	t.Run("the list has both users and no token", func(t *testing.T) {
		res := e.admin("GET", "/v1/users", nil)
		e.must(200, res)
		var ids []string
		for _, u := range res.Data() {
			ids = append(ids, fmt.Sprint(u["id"]))
			if _, ok := u["token"]; ok {
				t.Errorf("listed user carries a token: %v", u)
			}
		}
		if len(ids) != 2 || !slices.Contains(ids, agentID) || !slices.Contains(ids, me["id"].(string)) {
			t.Errorf("users = %v, want the admin and %s", ids, agentID)
		}
		for _, secret := range []string{agentToken, e.token} {
			if bytes.Contains(res.Body, []byte(secret)) {
				t.Errorf("GET /v1/users leaks a token")
			}
		}
		res = e.call(agentToken, "GET", "/v1/users", nil)
		if res.Status != 200 || bytes.Contains(res.Body, []byte(agentToken)) || bytes.Contains(res.Body, []byte(e.token)) {
			t.Errorf("an agent's GET /v1/users = %d, or leaks a token", res.Status)
		}
	})

	t.Run("create rejects", func(t *testing.T) {
		tests := []struct {
			name   string
			body   map[string]any
			status int
			code   string
			fields []string
		}{
			{"a duplicate email", map[string]any{"email": "ada@example.com", "name": "Ada 2", "role": "agent"}, 409, "email_taken", nil},
			{"a duplicate email in other case", map[string]any{"email": "ADA@Example.com", "name": "Ada 3", "role": "agent"}, 409, "email_taken", nil},
			{"an invalid email", map[string]any{"email": "not-an-email", "name": "X", "role": "agent"}, 422, "", []string{"email"}},
			{"an invalid role", map[string]any{"email": "x@example.com", "name": "X", "role": "owner"}, 422, "", []string{"role"}},
			{"an invalid email and role", map[string]any{"email": "x@", "name": "X", "role": "root"}, 422, "", []string{"email", "role"}},
			{"a missing name", map[string]any{"email": "y@example.com", "role": "agent"}, 422, "", []string{"name"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", "/v1/users", tt.body), tt.status, tt.code, tt.fields...)
			})
		}
		if n := len(e.admin("GET", "/v1/users", nil).Data()); n != 2 {
			t.Errorf("%d users after rejected creates, want 2", n)
		}
	})

	t.Run("an agent cannot create users", func(t *testing.T) {
		wantAPIError(t, e.call(agentToken, "POST", "/v1/users", map[string]any{"email": "z@example.com", "name": "Z", "role": "admin"}), 403, "forbidden")
	})

	t.Run("an agent cannot patch users", func(t *testing.T) {
		wantAPIError(t, e.call(agentToken, "PATCH", "/v1/users/"+agentID, map[string]any{"role": "admin"}), 403, "forbidden")
		wantAPIError(t, e.call(agentToken, "PATCH", "/v1/users/"+me["id"].(string), map[string]any{"available": false}), 403, "forbidden")
		if got := e.must(200, e.call(agentToken, "GET", "/v1/me", nil)); got["role"] != "agent" {
			t.Errorf("agent role after refused patch = %v", got["role"])
		}
	})

	t.Run("PATCH /v1/me changes only availability", func(t *testing.T) {
		got := e.must(200, e.call(agentToken, "PATCH", "/v1/me", map[string]any{"available": false}))
		if got["available"] != false || got["role"] != "agent" || got["view_all_conversations"] != false || got["name"] != "Ada" {
			t.Errorf("after PATCH /v1/me = %v", got)
		}
		wantAPIError(t, e.call(agentToken, "PATCH", "/v1/me", map[string]any{"role": "admin"}), 422, "", "role")
		wantAPIError(t, e.call(agentToken, "PATCH", "/v1/me", map[string]any{"view_all_conversations": true}), 422, "", "view_all_conversations")
		got = e.must(200, e.call(agentToken, "GET", "/v1/me", nil))
		if got["role"] != "agent" || got["view_all_conversations"] != false || got["available"] != false {
			t.Errorf("me after refused escalation = %v", got)
		}
		// The change is visible to the admin too.
		if u := e.must(200, e.admin("GET", "/v1/users/"+agentID, nil)); u["available"] != false {
			t.Errorf("admin sees available = %v", u["available"])
		}
	})

	t.Run("admin PATCH applies", func(t *testing.T) {
		got := e.must(200, e.admin("PATCH", "/v1/users/"+agentID, map[string]any{"role": "admin", "view_all_conversations": true, "available": true}))
		if got["role"] != "admin" || got["view_all_conversations"] != true || got["available"] != true || got["email"] != "ada@example.com" {
			t.Errorf("patched user = %v", got)
		}
		if u := e.must(200, e.admin("GET", "/v1/users/"+agentID, nil)); u["role"] != "admin" || u["view_all_conversations"] != true {
			t.Errorf("user after patch = %v", u)
		}
		// The promotion takes effect on the user's existing token.
		e.must(201, e.call(agentToken, "POST", "/v1/inboxes", map[string]any{"name": "Promoted", "kind": "sales"}))
	})

	t.Run("admin PATCH rejects", func(t *testing.T) {
		wantAPIError(t, e.admin("PATCH", "/v1/users/"+agentID, map[string]any{"role": "owner"}), 422, "", "role")
		wantAPIError(t, e.admin("PATCH", "/v1/users/"+agentID, map[string]any{"available": "yes"}), 422, "", "available")
		wantAPIError(t, e.admin("PATCH", "/v1/users/999999", map[string]any{"available": false}), 404, "not_found")
		wantAPIError(t, e.admin("GET", "/v1/users/999999", nil), 404, "not_found")
	})
}

// An account whose only admin became an agent can never again create
// users, channels or settings: nothing in the API can promote anyone.
func TestTheLastAdminCannotBeDemoted(t *testing.T) {
	e := boot(t, "")
	me := e.must(200, e.admin("GET", "/v1/me", nil))
	res := e.admin("PATCH", "/v1/users/"+me["id"].(string), map[string]any{"role": "agent"})
	if res.Status < 400 || res.Status >= 500 {
		t.Errorf("demoting the only admin: status = %d, want a 4xx: %s", res.Status, res.Body)
	}
	if got := e.must(200, e.admin("GET", "/v1/me", nil)); got["role"] != "admin" {
		t.Fatalf("the account has no admin left: %v", got)
	}

	// With a second admin, demotion is fine.
	other, otherToken, _ := e.addStaff("second@example.com", "admin", false)
	got := e.must(200, e.call(otherToken, "PATCH", "/v1/users/"+other["id"].(string), map[string]any{"role": "agent"}))
	if got["role"] != "agent" {
		t.Errorf("second admin after demotion = %v", got)
	}
}

func TestTokensAreIssuedAndRevoked(t *testing.T) {
	e := boot(t, "")
	admin := e.must(200, e.admin("GET", "/v1/me", nil))
	agent, agentToken, firstTokenID := e.addStaff("bo@example.com", "agent", false)
	agentID := agent["id"].(string)
	other, _, _ := e.addStaff("cy@example.com", "agent", false)

	issued := e.must(201, e.admin("POST", "/v1/users/"+agentID+"/tokens", nil))
	newID, _ := issued["id"].(string)
	newToken, _ := issued["token"].(string)
	if newID == "" || newToken == "" || newToken == agentToken {
		t.Fatalf("new token = %v, want {id, token} with a fresh token", issued)
	}

	t.Run("old and new tokens both work", func(t *testing.T) {
		for _, tok := range []string{agentToken, newToken} {
			if got := e.must(200, e.call(tok, "GET", "/v1/me", nil)); got["id"] != agentID {
				t.Errorf("token authenticates %v, want %s", got["id"], agentID)
			}
		}
	})

	t.Run("an agent cannot revoke a colleague's or an admin's token", func(t *testing.T) {
		_, otherToken, otherTokenID := e.addStaff("di@example.com", "agent", false)
		adminTokens := e.must(200, e.admin("GET", "/v1/users/"+admin["id"].(string)+"/tokens", nil))["data"].([]any)
		adminTokenID := adminTokens[0].(map[string]any)["id"].(string)
		// 404, as for a token that does not exist: whether it does is not theirs to know.
		wantAPIError(t, e.call(agentToken, "DELETE", "/v1/tokens/"+otherTokenID, nil), 404, "not_found")
		wantAPIError(t, e.call(agentToken, "DELETE", "/v1/tokens/"+adminTokenID, nil), 404, "not_found")
		e.must(200, e.call(otherToken, "GET", "/v1/me", nil))
		e.must(200, e.admin("GET", "/v1/me", nil))
		e.must(200, e.call(newToken, "GET", "/v1/me", nil))
	})

	t.Run("an agent revokes their own token", func(t *testing.T) {
		own := e.must(201, e.call(agentToken, "POST", "/v1/users/"+agentID+"/tokens", nil))
		if res := e.call(agentToken, "DELETE", "/v1/tokens/"+own["id"].(string), nil); res.Status != 204 {
			t.Fatalf("revoking their own token = %d: %s", res.Status, res.Body)
		}
		wantAPIError(t, e.call(own["token"].(string), "GET", "/v1/me", nil), 401, "unauthenticated")
		e.must(200, e.call(agentToken, "GET", "/v1/me", nil))
	})

	t.Run("a revoked token stops working, the others do not", func(t *testing.T) {
		if res := e.admin("DELETE", "/v1/tokens/"+newID, nil); res.Status != 204 || len(res.Body) != 0 {
			t.Fatalf("revoke = %d %q, want 204 and no body", res.Status, res.Body)
		}
		wantAPIError(t, e.call(newToken, "GET", "/v1/me", nil), 401, "unauthenticated")
		e.must(200, e.call(agentToken, "GET", "/v1/me", nil))
		e.must(200, e.admin("GET", "/v1/me", nil))
	})

	t.Run("the token issued with the user can be revoked", func(t *testing.T) {
		if firstTokenID == "" {
			t.Skip("create user returned no token_id")
		}
		if res := e.admin("DELETE", "/v1/tokens/"+firstTokenID, nil); res.Status != 204 {
			t.Fatalf("revoke = %d: %s", res.Status, res.Body)
		}
		wantAPIError(t, e.call(agentToken, "GET", "/v1/me", nil), 401, "unauthenticated")
	})

	t.Run("revoking an unknown token is 404", func(t *testing.T) {
		wantAPIError(t, e.admin("DELETE", "/v1/tokens/999999", nil), 404, "not_found")
		wantAPIError(t, e.admin("DELETE", "/v1/tokens/abc", nil), 404, "not_found")
	})

	// The agent's tokens are all revoked by now: give them one to act with.
	agentToken = e.must(201, e.admin("POST", "/v1/users/"+agentID+"/tokens", nil))["token"].(string)

	t.Run("an agent issues tokens for themself only", func(t *testing.T) {
		wantAPIError(t, e.call(agentToken, "POST", "/v1/users/"+other["id"].(string)+"/tokens", nil), 403, "forbidden")
		wantAPIError(t, e.call(agentToken, "POST", "/v1/users/"+admin["id"].(string)+"/tokens", nil), 403, "forbidden")
		own := e.must(201, e.call(agentToken, "POST", "/v1/users/"+agentID+"/tokens", nil))
		tok, _ := own["token"].(string)
		if got := e.must(200, e.call(tok, "GET", "/v1/me", nil)); got["id"] != agentID {
			t.Errorf("self-issued token authenticates %v", got["id"])
		}
	})

	t.Run("tokens for an unknown user are 404", func(t *testing.T) {
		wantAPIError(t, e.admin("POST", "/v1/users/999999/tokens", nil), 404, "not_found")
	})
}

func TestConversationSettings(t *testing.T) {
	e := boot(t, "")
	_, agentToken, _ := e.addStaff("di@example.com", "agent", false)

	defaults := e.must(200, e.admin("GET", "/v1/settings/conversations", nil))
	if defaults["allow_auto_assignment"] != false {
		t.Errorf("allow_auto_assignment = %v, want false", defaults["allow_auto_assignment"])
	}
	for _, k := range []string{"help_text", "opt_out_reply", "opt_in_reply"} {
		if s, _ := defaults[k].(string); s == "" {
			t.Errorf("%s = %v, want a default text", k, defaults[k])
		}
	}
	if got := e.must(200, e.call(agentToken, "GET", "/v1/settings/conversations", nil)); got["help_text"] != defaults["help_text"] {
		t.Errorf("agent reads settings %v", got)
	}

	const help = "Acme Support: call 415-555-0123, Mon-Fri 9-5. Reply STOP to opt out."
	t.Run("admin PATCH applies and persists", func(t *testing.T) {
		got := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"allow_auto_assignment": true, "help_text": help}))
		if got["allow_auto_assignment"] != true || got["help_text"] != help || got["opt_out_reply"] != defaults["opt_out_reply"] {
			t.Errorf("PATCH answered %v", got)
		}
		got = e.must(200, e.admin("GET", "/v1/settings/conversations", nil))
		if got["allow_auto_assignment"] != true || got["help_text"] != help || got["opt_in_reply"] != defaults["opt_in_reply"] {
			t.Errorf("settings after PATCH = %v", got)
		}
	})

	t.Run("an agent cannot PATCH", func(t *testing.T) {
		wantAPIError(t, e.call(agentToken, "PATCH", "/v1/settings/conversations", map[string]any{"help_text": "hijacked"}), 403, "forbidden")
	})

	invalid := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"empty help_text", map[string]any{"help_text": ""}, "help_text"},
		{"blank help_text", map[string]any{"help_text": "   "}, "help_text"},
		{"help_text longer than one send", map[string]any{"help_text": strings.Repeat("h", 1601)}, "help_text"},
		{"empty opt_out_reply", map[string]any{"opt_out_reply": ""}, "opt_out_reply"},
		{"empty opt_in_reply", map[string]any{"opt_in_reply": ""}, "opt_in_reply"},
		{"no opt-out keyword", map[string]any{"keywords": map[string]any{"opt_out": []string{}}}, "keywords.opt_out"},
		{"a keyword in two lists", map[string]any{"keywords": map[string]any{"opt_out": []string{"STOP"}, "opt_in": []string{"stop"}}}, "keywords.opt_in"},
		{"allow_auto_assignment not a bool", map[string]any{"allow_auto_assignment": "yes"}, "allow_auto_assignment"},
	}
	for _, tt := range invalid {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			wantAPIError(t, e.admin("PATCH", "/v1/settings/conversations", tt.body), 422, "", tt.field)
		})
	}
	if got := e.must(200, e.admin("GET", "/v1/settings/conversations", nil)); got["help_text"] != help || got["allow_auto_assignment"] != true {
		t.Errorf("settings changed by refused patches: %v", got)
	}

	// A PATCH that names one keyword list must not switch the other lists
	// off: HELP must keep answering and START keep opting in (CTIA).
	t.Run("a keywords patch naming only opt_out keeps the other lists", func(t *testing.T) {
		got := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"keywords": map[string]any{"opt_out": []string{"STOP", "ARRET"}}}))
		kw, _ := got["keywords"].(map[string]any)
		if help, _ := kw["help"].([]any); len(help) == 0 {
			t.Errorf("keywords.help after patching opt_out = %v, want HELP and INFO kept", kw["help"])
		}
		if in, _ := kw["opt_in"].([]any); len(in) == 0 {
			t.Errorf("keywords.opt_in after patching opt_out = %v, want START and the others kept", kw["opt_in"])
		}
		if out, _ := kw["opt_out"].([]any); len(out) != 2 {
			t.Errorf("keywords.opt_out = %v, want [STOP ARRET]", kw["opt_out"])
		}
		// Put the defaults back for the HELP check below.
		e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"keywords": defaults["keywords"]}))
	})

	t.Run("texting HELP answers the new help text", func(t *testing.T) {
		e.setupChannel(nil)
		const from = "+14155550142"
		e.text(from, "HELP")
		e.eventually("the help reply", func() bool { return len(e.received(from)) == 1 })
		if got := e.received(from)[0]; got != help {
			t.Errorf("phone received %q, want the new help text %q", got, help)
		}

		// The channel's route is kept between webhooks now; a change of
		// the settings must reach the very next text all the same.
		const changed = "Acme: text us any time, or call 555-0100."
		e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"help_text": changed}))
		e.text(from, "HELP")
		e.eventually("the second help reply", func() bool { return len(e.received(from)) == 2 })
		if got := e.received(from)[1]; got != changed {
			t.Errorf("after the settings changed, the phone received %q, want %q", got, changed)
		}
	})
}

func TestInboxesAndChannels(t *testing.T) {
	e := boot(t, "")
	_, agentToken, _ := e.addStaff("ed@example.com", "agent", false)

	t.Run("inbox validation", func(t *testing.T) {
		tests := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"missing name", map[string]any{"kind": "support"}, "name"},
			{"blank name", map[string]any{"name": "  ", "kind": "support"}, "name"},
			{"bad kind", map[string]any{"name": "X", "kind": "billing"}, "kind"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", "/v1/inboxes", tt.body), 422, "", tt.field)
			})
		}
		wantAPIError(t, e.call(agentToken, "POST", "/v1/inboxes", map[string]any{"name": "X", "kind": "sales"}), 403, "forbidden")
		if res := e.admin("GET", "/v1/inboxes", nil); len(res.Data()) != 0 {
			t.Errorf("inboxes after refused creates = %s", res.Body)
		}
	})

	inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))
	if inbox["name"] != "Support" || inbox["kind"] != "support" || inbox["id"] == nil {
		t.Errorf("inbox = %v", inbox)
	}
	if list := e.must(200, e.admin("GET", "/v1/inboxes", nil)); len(list["data"].([]any)) != 1 {
		t.Errorf("inboxes = %v", list)
	}
	inboxID := inbox["id"].(string)

	good := func(change map[string]any) map[string]any {
		b := map[string]any{"carrier": "twilio", "phone_number": business, "inbox_id": inboxID, "account_sid": accountSID, "auth_token": authToken}
		for k, v := range change {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}

	t.Run("channel validation", func(t *testing.T) {
		tests := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"short account_sid", good(map[string]any{"account_sid": "AC123"}), "account_sid"},
			{"account_sid of another kind", good(map[string]any{"account_sid": "MG" + accountSID[2:]}), "account_sid"},
			{"phone_number not a phone", good(map[string]any{"phone_number": "hello"}), "phone_number"},
			{"phone_number too short", good(map[string]any{"phone_number": "+1415555"}), "phone_number"},
			{"no phone_number nor service", good(map[string]any{"phone_number": nil}), "phone_number"},
			{"no inbox_id", good(map[string]any{"inbox_id": nil}), "inbox_id"},
			{"unknown inbox_id", good(map[string]any{"inbox_id": "999999"}), "inbox_id"},
			{"malformed inbox_id", good(map[string]any{"inbox_id": "abc"}), "inbox_id"},
			{"inbox_id as a JSON number", good(map[string]any{"inbox_id": 1}), "inbox_id"},
			{"unknown carrier", good(map[string]any{"carrier": "carrier-pigeon"}), "carrier"},
			{"no auth_token", good(map[string]any{"auth_token": nil}), "auth_token"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.admin("POST", "/v1/channels", tt.body)
				wantAPIError(t, res, 422, "", tt.field)
				if bytes.Contains(res.Body, []byte(authToken)) {
					t.Errorf("error answer echoes the auth token: %s", res.Body)
				}
			})
		}
		wantAPIError(t, e.call(agentToken, "POST", "/v1/channels", good(nil)), 403, "forbidden")
	})

	t.Run("a numeric inbox_id is told that ids are strings", func(t *testing.T) {
		res := e.admin("POST", "/v1/channels", good(map[string]any{"inbox_id": 1}))
		wantAPIError(t, res, 422, "", "inbox_id")
		var body struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		_ = json.Unmarshal(res.Body, &body)
		if why := body.Error.Fields["inbox_id"]; why == "must be a number" {
			t.Errorf("inbox_id sent as the number 1 is refused with %q; ids are strings on the wire", why)
		}
	})

	t.Run("create answers webhook URLs and never the auth token", func(t *testing.T) {
		res := e.admin("POST", "/v1/channels", good(nil))
		ch := e.must(201, res)
		if bytes.Contains(res.Body, []byte(authToken)) {
			t.Errorf("POST /v1/channels answer contains the auth token: %s", res.Body)
		}
		want := map[string]any{"carrier": "twilio", "phone_number": business, "inbox_id": inboxID,
			"inbound_webhook_url": publicURL + "/webhooks/twilio/messages", "status_webhook_url": publicURL + "/webhooks/twilio/status"}
		for k, v := range want {
			if ch[k] != v {
				t.Errorf("channel %s = %v, want %v", k, ch[k], v)
			}
		}
		if id, _ := ch["id"].(string); id == "" {
			t.Errorf("channel id = %v", ch["id"])
		}
		if _, ok := ch["auth_token"]; ok {
			t.Errorf("channel has an auth_token field")
		}

		res = e.admin("GET", "/v1/channels", nil)
		e.must(200, res)
		if bytes.Contains(res.Body, []byte(authToken)) {
			t.Errorf("GET /v1/channels contains the auth token: %s", res.Body)
		}
		list := res.Data()
		if len(list) != 1 || list[0]["id"] != ch["id"] || list[0]["inbound_webhook_url"] != want["inbound_webhook_url"] {
			t.Errorf("channels = %s", res.Body)
		}
	})

	t.Run("the same number twice is a conflict", func(t *testing.T) {
		wantAPIError(t, e.admin("POST", "/v1/channels", good(nil)), 409, "channel_exists")
		wantAPIError(t, e.admin("POST", "/v1/channels", good(map[string]any{"phone_number": "(415) 555-0199"})), 409, "channel_exists")
		if n := len(e.admin("GET", "/v1/channels", nil).Data()); n != 1 {
			t.Errorf("channels = %d, want 1", n)
		}
	})
}

// writeRoutes are every POST and PATCH route of routes.go. The tokens
// route needs no body, so an empty one is fine there; any other body must
// still be checked, or a typo is silently ignored.
func writeRoutes(userID string) []struct {
	method, path string
	bodyless     bool
} {
	return []struct {
		method, path string
		bodyless     bool
	}{
		{"PATCH", "/v1/me", false},
		{"PATCH", "/v1/settings/conversations", false},
		{"POST", "/v1/users", false},
		{"PATCH", "/v1/users/" + userID, false},
		{"POST", "/v1/users/" + userID + "/tokens", true},
		{"POST", "/v1/inboxes", false},
		{"POST", "/v1/channels", false},
		{"POST", "/v1/contacts", false},
		{"POST", "/v1/optouts", false},
	}
}

func TestEveryWriteRouteRejectsBadBodies(t *testing.T) {
	e := boot(t, "")
	agent, _, _ := e.addStaff("fay@example.com", "agent", false)
	huge := append([]byte(`{"zz_padding":"`), bytes.Repeat([]byte("a"), 1<<20+16)...)
	huge = append(huge, `"}`...)

	bodies := []struct {
		name   string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"malformed JSON", []byte(`{"name":`), 400, "malformed", ""},
		{"not JSON at all", []byte(`name=x`), 400, "malformed", ""},
		{"an empty body", nil, 400, "malformed", ""},
		{"two objects", []byte(`{} {}`), 400, "malformed", ""},
		{"an unknown field", []byte(`{"zz_unknown_field":1}`), 422, "", "zz_unknown_field"},
		{"a body over 1 MiB", huge, 413, "too_large", ""},
		{"a JSON array", []byte(`[]`), 400, "malformed", ""},
		{"an array of objects", []byte(`[{"name":"x"}]`), 400, "malformed", ""},
		{"a JSON string", []byte(`"hello"`), 400, "malformed", ""},
	}
	for _, route := range writeRoutes(agent["id"].(string)) {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			for _, b := range bodies {
				t.Run(b.name, func(t *testing.T) {
					res := e.rawCall(route.method, route.path, "Bearer "+e.token, b.body)
					if route.bodyless && b.body == nil {
						e.must(201, res)
						return
					}
					if res.Status >= 500 {
						t.Fatalf("status = %d: %s", res.Status, res.Body)
					}
					if b.field != "" {
						wantAPIError(t, res, b.status, b.code, b.field)
					} else {
						wantAPIError(t, res, b.status, b.code)
					}
				})
			}
		})
	}
	// Nothing was created by the refused bodies.
	if n := len(e.admin("GET", "/v1/users", nil).Data()); n != 2 {
		t.Errorf("%d users, want 2", n)
	}
	for _, path := range []string{"/v1/inboxes", "/v1/channels", "/v1/contacts"} {
		if n := len(e.admin("GET", path, nil).Data()); n != 0 {
			t.Errorf("%s has %d rows after refused bodies", path, n)
		}
	}
}

func TestAccountsAreIsolated(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	e.text("+14155550100", "Where is my order?")
	defaultAdmin := e.must(200, e.admin("GET", "/v1/me", nil))
	adminID := defaultAdmin["id"].(string)
	agent, _, _ := e.addStaff("gus@example.com", "agent", false)
	tok := e.must(201, e.admin("POST", "/v1/users/"+agent["id"].(string)+"/tokens", nil))
	tokID, tokSecret := tok["id"].(string), tok["token"].(string)
	conv := e.admin("GET", "/v1/conversations", nil).Data()[0]
	convID := conv["id"].(string)
	contactID := conv["contact"].(map[string]any)["id"].(string)
	e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": "+14155550111"}))

	var out bytes.Buffer
	dbURL := e.main.Config.DatabaseURL
	getenv := func(k string) string {
		if k == "PARLEY_DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", "acme-admin-token-000000000000000000"}, getenv, &out, &out); err != nil {
		t.Fatalf("account create: %v\n%s", err, out.String())
	}
	const acme = "acme-admin-token-000000000000000000"
	acmeMe := e.must(200, e.call(acme, "GET", "/v1/me", nil))
	if acmeMe["role"] != "admin" || acmeMe["id"] == adminID {
		t.Fatalf("acme admin = %v", acmeMe)
	}

	t.Run("another account's resources are 404", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			body               any
		}{
			{"GET user", "GET", "/v1/users/" + adminID, nil},
			{"PATCH user", "PATCH", "/v1/users/" + adminID, map[string]any{"available": false}},
			{"GET contact", "GET", "/v1/contacts/" + contactID, nil},
			{"GET contact conversations", "GET", "/v1/contacts/" + contactID + "/conversations", nil},
			{"GET conversation", "GET", "/v1/conversations/" + convID, nil},
			{"GET conversation messages", "GET", "/v1/conversations/" + convID + "/messages", nil},
			{"POST user tokens", "POST", "/v1/users/" + adminID + "/tokens", nil},
			{"DELETE token", "DELETE", "/v1/tokens/" + tokID, nil},
			{"malformed contact id", "GET", "/v1/contacts/abc", nil},
			{"malformed user id", "GET", "/v1/users/abc", nil},
			{"zero conversation id", "GET", "/v1/conversations/0", nil},
			{"negative contact id", "GET", "/v1/contacts/-1", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.call(acme, tt.method, tt.path, tt.body), 404, "not_found")
			})
		}
	})

	t.Run("the default account is untouched", func(t *testing.T) {
		if got := e.must(200, e.admin("GET", "/v1/me", nil)); got["available"] != true {
			t.Errorf("default admin after acme's PATCH = %v", got)
		}
		e.must(200, e.call(tokSecret, "GET", "/v1/me", nil))
	})

	t.Run("lists show none of the default account's data", func(t *testing.T) {
		for _, path := range []string{"/v1/inboxes", "/v1/channels", "/v1/contacts", "/v1/conversations",
			"/v1/contacts?phone=" + url.QueryEscape("+14155550100"), "/v1/conversations?contact_phone=" + url.QueryEscape("+14155550100"),
			"/v1/conversations?view=unassigned"} {
			res := e.call(acme, "GET", path, nil)
			if e.must(200, res); len(res.Data()) != 0 {
				t.Errorf("acme GET %s = %s", path, res.Body)
			}
		}
		users := e.call(acme, "GET", "/v1/users", nil)
		if list := users.Data(); len(list) != 1 || list[0]["id"] != acmeMe["id"] || bytes.Contains(users.Body, []byte("gus@example.com")) {
			t.Errorf("acme users = %s", users.Body)
		}
		if c := e.must(200, e.call(acme, "GET", "/v1/optouts?phone="+url.QueryEscape("+14155550111"), nil)); c["opted_out"] != false {
			t.Errorf("acme sees the default account's opt-out: %v", c)
		}
	})

	t.Run("settings are per account", func(t *testing.T) {
		e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"help_text": "default account help"}))
		got := e.must(200, e.call(acme, "GET", "/v1/settings/conversations", nil))
		if got["help_text"] == "default account help" || !strings.HasPrefix(got["help_text"].(string), "Acme") {
			t.Errorf("acme help_text = %v", got["help_text"])
		}
	})

	t.Run("a channel cannot point at another account's inbox", func(t *testing.T) {
		res := e.call(acme, "POST", "/v1/channels", map[string]any{"carrier": "twilio", "phone_number": "+14155550180",
			"inbox_id": ch["inbox_id"], "account_sid": accountSID, "auth_token": authToken})
		wantAPIError(t, res, 422, "", "inbox_id")
	})

	t.Run("emails are unique per account only", func(t *testing.T) {
		e.must(201, e.call(acme, "POST", "/v1/users", map[string]any{"email": "gus@example.com", "name": "Gus at Acme", "role": "agent"}))
		if n := len(e.admin("GET", "/v1/users", nil).Data()); n != 2 {
			t.Errorf("default account has %d users, want 2", n)
		}
	})
}
