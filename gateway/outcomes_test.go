package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/outcomes"
)

// The outcomes routes over fakes: who may reach what, and what the
// handlers make of the store's answers. The store's own rules are
// proven in store/ and end to end in cmd/parley.

const oAccount parley.ID = 1

var (
	oAdmin         = conversations.User{ID: 10, AccountID: oAccount, Role: conversations.RoleAdmin, Active: true}
	oAgent         = conversations.User{ID: 11, AccountID: oAccount, Role: conversations.RoleAgent, Active: true}
	unassignedConv = conversations.Conversation{ID: 100, AccountID: oAccount} // unassigned: agent may not see it
	agentsConv     = conversations.Conversation{ID: 101, AccountID: oAccount, AssigneeID: &oAgent.ID}
)

// fakeConversations knows two users by token and two conversations; the
// rest of the interface is never called by these routes.
type fakeConversations struct{ conversations.Store }

func (fakeConversations) Authenticate(_ context.Context, hash string, _ time.Time) (conversations.User, error) {
	switch hash {
	case conversations.HashToken("admin-token"):
		return oAdmin, nil
	case conversations.HashToken("agent-token"):
		return oAgent, nil
	}
	return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "no")
}

func (fakeConversations) GetConversation(_ context.Context, accountID, id parley.ID) (conversations.Conversation, error) {
	for _, c := range []conversations.Conversation{unassignedConv, agentsConv} {
		if c.ID == id && c.AccountID == accountID {
			return c, nil
		}
	}
	return conversations.Conversation{}, parley.Errorf(parley.ENOTFOUND, "no conversation")
}

// fakeOutcomes keeps outcomes by idempotency key, as the store does.
type fakeOutcomes struct {
	outcomes.Store
	byKey   map[string]outcomes.Outcome
	records int
}

func (f *fakeOutcomes) CreateOutcome(_ context.Context, n outcomes.NewOutcome, amount *outcomes.Money) (outcomes.Outcome, bool, error) {
	if o, ok := f.byKey[n.IdempotencyKey]; ok && n.IdempotencyKey != "" {
		return o, false, nil
	}
	o := outcomes.Outcome{ID: parley.ID(500 + len(f.byKey)), AccountID: n.AccountID, ConversationID: n.ConversationID, Type: n.Type,
		Notes: n.Notes, Metadata: n.Metadata, Amount: amount, Source: n.Source, CreatedBy: n.CreatedBy, CreatedAt: n.At}
	f.byKey[n.IdempotencyKey] = o
	return o, true, nil
}

func (f *fakeOutcomes) PutRecord(_ context.Context, r outcomes.Record, _ *parley.ID, _ *parley.ID, at time.Time) (outcomes.Record, bool, error) {
	f.records++
	r.ID, r.CreatedAt, r.UpdatedAt = 700, at, at
	return r, true, nil
}

func (f *fakeOutcomes) ListOutcomes(context.Context, parley.ID, parley.ID) ([]outcomes.Outcome, error) {
	return nil, nil
}

type outcomesFixture struct {
	h     http.Handler
	store *fakeOutcomes
}

func newOutcomesFixture() outcomesFixture {
	store := &fakeOutcomes{byKey: map[string]outcomes.Outcome{}}
	h := NewHandler(Deps{Log: zerolog.Nop(), Clock: &parley.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Store: fakeConversations{}, Outcomes: store,
		// The web inbox's session: the agent, without a token.
		CookieAuth: func(*http.Request) (conversations.User, error) { return oAgent, nil }})
	return outcomesFixture{h, store}
}

// call makes a request with token ("" for the session) and returns the
// status and the decoded body.
func (f outcomesFixture) call(t *testing.T, token, method, path, body string, header ...string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func errFields(body map[string]any) map[string]any {
	e, _ := body["error"].(map[string]any)
	fs, _ := e["fields"].(map[string]any)
	return fs
}

func TestOutcomeRoutesRefuseConversationsTheCallerMayNotSee(t *testing.T) {
	f := newOutcomesFixture()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/conversations/100/outcomes", ""},
		{"POST", "/v1/conversations/100/outcomes", `{"type":"quote_sent"}`},
		{"GET", "/v1/conversations/100/links", ""},
		{"POST", "/v1/conversations/100/links", `{"record_id":"7"}`},
		{"DELETE", "/v1/conversations/100/links/7", ""},
		{"GET", "/v1/conversations/100/suggestions", ""},
	} {
		if status, body := f.call(t, "agent-token", tc.method, tc.path, tc.body); status != http.StatusForbidden {
			t.Errorf("%s %s as an agent who may not see it: %d %v, want 403, as on the conversation", tc.method, tc.path, status, body)
		}
	}
	if status, _ := f.call(t, "admin-token", "GET", "/v1/conversations/100/outcomes", ""); status != http.StatusOK {
		t.Errorf("an admin lists its outcomes: %d, want 200", status)
	}
	if status, _ := f.call(t, "agent-token", "GET", "/v1/conversations/101/outcomes", ""); status != http.StatusOK {
		t.Errorf("the assignee lists its outcomes: %d, want 200", status)
	}
}

func TestOutcomeIdempotencyKey(t *testing.T) {
	f := newOutcomesFixture()
	body := `{"type":"quote_sent","metadata":{"amount":"5000.00","currency":"USD"}}`
	status, first := f.call(t, "admin-token", "POST", "/v1/conversations/100/outcomes", body, "Idempotency-Key", "k1")
	if status != http.StatusCreated || first["source"] != "api" || first["type"] != "quote_sent" {
		t.Fatalf("first: %d %v", status, first)
	}
	if meta, _ := first["metadata"].(map[string]any); meta["amount"] != "5000.00" {
		t.Errorf("metadata not sent back as given: %v", first["metadata"])
	}
	status, again := f.call(t, "admin-token", "POST", "/v1/conversations/100/outcomes", body, "Idempotency-Key", "k1")
	if status != http.StatusCreated || again["id"] != first["id"] {
		t.Errorf("replay: %d %v, want 201 with the first outcome %v", status, again["id"], first["id"])
	}
	status, other := f.call(t, "admin-token", "POST", "/v1/conversations/101/outcomes", body, "Idempotency-Key", "k1")
	if status != http.StatusConflict || errCode(other) != "idempotency_key_reused" {
		t.Errorf("the key on another conversation: %d %v, want 409 idempotency_key_reused", status, other)
	}
}

func TestOutcomeSourceAndValidation(t *testing.T) {
	f := newOutcomesFixture()
	status, o := f.call(t, "", "POST", "/v1/conversations/101/outcomes", `{"type":"issue_resolved"}`)
	if status != http.StatusCreated || o["source"] != "manual" || o["record"] != nil {
		t.Errorf("from the web inbox: %d %v, want 201 source manual, record null", status, o)
	}
	status, body := f.call(t, "admin-token", "POST", "/v1/conversations/101/outcomes", `{"type":"sold"}`)
	if status != http.StatusUnprocessableEntity || errFields(body)["type"] == nil {
		t.Errorf("an unknown type: %d %v, want 422 naming type", status, body)
	}
	status, body = f.call(t, "admin-token", "POST", "/v1/conversations/101/outcomes", `{"type":"invoice_paid","metadata":{"amount":"1.005","currency":"USD"}}`)
	if status != http.StatusUnprocessableEntity || errFields(body)["metadata.amount"] == nil {
		t.Errorf("an amount finer than cents: %d %v, want 422 naming metadata.amount", status, body)
	}
	if status, _ = f.call(t, "admin-token", "POST", "/v1/conversations/101/outcomes", `{"type":`); status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", status)
	}
}

func TestPutRecordPermissionsAndShape(t *testing.T) {
	f := newOutcomesFixture()
	status, body := f.call(t, "", "PUT", "/v1/records/quote/Q-1", `{"title":"Kitchen"}`)
	if status != http.StatusForbidden || f.store.records != 0 {
		t.Errorf("an agent's session without view-all: %d %v, want 403 and nothing written", status, body)
	}
	// Any user can mint a token: the agent's own is refused too.
	status, body = f.call(t, "agent-token", "PUT", "/v1/records/quote/Q-1", `{"title":"Kitchen"}`)
	if status != http.StatusForbidden || f.store.records != 0 {
		t.Errorf("an agent's token without view-all: %d %v, want 403 and nothing written", status, body)
	}
	status, rec := f.call(t, "admin-token", "PUT", "/v1/records/quote/Q-1", `{"title":"Kitchen","amount":"5000","currency":"USD","status":"Sent"}`)
	if status != http.StatusCreated || rec["amount"] != "5000.00" || rec["currency"] != "USD" || rec["status"] != "sent" || rec["url"] != nil {
		t.Errorf("an integration's write: %d %v, want 201 with amount 5000.00 USD, status sent, url null", status, rec)
	}
	if _, ok := rec["occurred_at"]; !ok || rec["occurred_at"] != nil {
		t.Errorf("a record written without occurred_at: %v, want occurred_at null", rec)
	}
	// What the integration writes it reads back.
	status, rec = f.call(t, "admin-token", "PUT", "/v1/records/invoice/I-1", `{"title":"Kitchen","occurred_at":"2026-01-01T09:30:00+01:00"}`)
	if status != http.StatusCreated || rec["occurred_at"] != "2026-01-01T08:30:00Z" {
		t.Errorf("a record written with occurred_at: %d %v, want 201 with occurred_at 2026-01-01T08:30:00Z", status, rec)
	}
	status, body = f.call(t, "admin-token", "PUT", "/v1/records/quote/Q-1", `{"title":"Kitchen","amount":"5000"}`)
	if status != http.StatusUnprocessableEntity || errFields(body)["currency"] == nil {
		t.Errorf("an amount without currency: %d %v, want 422 naming currency", status, body)
	}
	status, body = f.call(t, "admin-token", "PUT", "/v1/records/quote/Q-1", `{"title":"Kitchen","conversation_id":"999"}`)
	if status != http.StatusNotFound || errFields(body)["conversation_id"] == nil {
		t.Errorf("linking to no conversation: %d %v, want 404 naming conversation_id", status, body)
	}
}

// fakeSubjects is the renderer's store: one conversation, assigned to the
// agent, with one outcome and one suggestion.
type fakeSubjects struct{ SubjectStore }

func (fakeSubjects) GetConversation(ctx context.Context, accountID, id parley.ID) (conversations.Conversation, error) {
	return fakeConversations{}.GetConversation(ctx, accountID, id)
}

func (fakeSubjects) GetOutcome(_ context.Context, accountID, id parley.ID) (outcomes.Outcome, error) {
	if id != 500 || accountID != oAccount {
		return outcomes.Outcome{}, parley.Errorf(parley.ENOTFOUND, "no outcome")
	}
	amount := outcomes.Money{Units: 500000, Currency: "USD"}
	return outcomes.Outcome{ID: 500, ConversationID: agentsConv.ID, Type: outcomes.QuoteSent, Source: outcomes.SourceAPI,
		Record: &outcomes.Record{ID: 7, Type: outcomes.RecordQuote, ExternalID: "Q-1", Title: "Kitchen", Amount: &amount}}, nil
}

func (fakeSubjects) GetSuggestion(_ context.Context, _, id parley.ID) (outcomes.Suggestion, error) {
	return outcomes.Suggestion{ID: id, ConversationID: agentsConv.ID, Type: outcomes.IssueResolved, Reason: "The conversation was resolved"}, nil
}

// Outcome and suggestion events go to whoever may see their conversation,
// with the object as the GETs answer it; an outcome gone since is
// skipped.
func TestRenderOutcomeEvents(t *testing.T) {
	r := renderer{fakeSubjects{}}
	ctx := context.Background()
	out, err := r.Render(ctx, events.Event{AccountID: oAccount, Type: events.OutcomeCreated, SubjectID: 500})
	if err != nil || out.Gone || !out.InConversation || out.Assignee == nil || *out.Assignee != oAgent.ID {
		t.Fatalf("outcome.created rendered %+v, %v; want in the agent's conversation", out, err)
	}
	want := `{"id":"500","conversation_id":"101","type":"quote_sent","record":{"id":"7","type":"quote","external_id":"Q-1","title":"Kitchen","amount":"5000.00","currency":"USD"},"notes":"","metadata":{},"source":"api","suggestion_id":null,"created_by":null,"created_at":"0001-01-01T00:00:00Z"}`
	if string(out.Data) != want {
		t.Errorf("outcome.created data\n %s\nwant\n %s", out.Data, want)
	}
	out, err = r.Render(ctx, events.Event{AccountID: oAccount, Type: events.SuggestionCreated, SubjectID: 9})
	if err != nil || !out.InConversation || string(out.Data) != `{"id":"9","conversation_id":"101","type":"issue_resolved","record":null,"reason":"The conversation was resolved","created_at":"0001-01-01T00:00:00Z"}` {
		t.Errorf("suggestion.created rendered %s %+v, %v", out.Data, out, err)
	}
	if out, err := r.Render(ctx, events.Event{AccountID: oAccount, Type: events.OutcomeDeleted, SubjectID: 501}); err != nil || !out.Gone {
		t.Errorf("an outcome not found rendered %+v, %v; want gone", out, err)
	}
}
