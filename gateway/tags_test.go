package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// The tags routes over fakes: who may reach what, and how bodies reach
// the store. The store's rules (final tags, episodes, the closing-tag
// setting) are proven in store/ and end to end in cmd/parley.

var saleTag = conversations.TagRef{ID: 5, Name: "Sold", Type: conversations.TagSale}

// fakeTags records what the routes ask of the tag store.
type fakeTags struct {
	conversations.TagStore
	created         []conversations.NewTag
	includeArchived bool
	changes         []conversations.TagChange
}

func (f *fakeTags) CreateTag(_ context.Context, n conversations.NewTag) (conversations.Tag, error) {
	f.created = append(f.created, n)
	return conversations.Tag{ID: 5, AccountID: n.AccountID, Name: n.Name, Type: n.Type}, nil
}

func (f *fakeTags) ListTags(_ context.Context, _ parley.ID, includeArchived bool) ([]conversations.Tag, error) {
	f.includeArchived = includeArchived
	return nil, nil
}

func (f *fakeTags) TagConversation(_ context.Context, c conversations.TagChange) (conversations.Conversation, error) {
	f.changes = append(f.changes, c)
	return conversations.Conversation{ID: c.ConversationID, AccountID: c.AccountID, Tags: []conversations.TagRef{saleTag}}, nil
}

func (f *fakeTags) UntagConversation(_ context.Context, c conversations.TagChange) (conversations.Conversation, error) {
	f.changes = append(f.changes, c)
	return conversations.Conversation{ID: c.ConversationID, AccountID: c.AccountID}, nil
}

func (f *fakeTags) ListEpisodes(context.Context, parley.ID, parley.ID) ([]conversations.Episode, error) {
	return nil, nil
}

// fakeStatus records status changes; with requireTag it refuses one
// without a tag as the store does for an account that requires it.
type fakeStatus struct {
	conversations.StaffStore
	requireTag bool
	changes    []conversations.StatusChange
}

func (f *fakeStatus) ChangeStatus(_ context.Context, c conversations.StatusChange) (conversations.Conversation, error) {
	if err := conversations.ClosingTagRequired(conversations.Settings{RequireClosingTag: f.requireTag}, false, c.TagID); err != nil {
		return conversations.Conversation{}, err
	}
	f.changes = append(f.changes, c)
	conv := conversations.Conversation{ID: c.ConversationID, AccountID: c.AccountID, Status: conversations.StatusResolved}
	if c.TagID != nil {
		conv.Tags, conv.FinalTag = []conversations.TagRef{saleTag}, &saleTag
	}
	return conv, nil
}

func newTagsFixture() (outcomesFixture, *fakeTags, *fakeStatus) {
	tags, staff := &fakeTags{}, &fakeStatus{}
	h := NewHandler(Deps{Log: zerolog.Nop(), Clock: &parley.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Store: fakeConversations{}, Tags: tags, Staff: staff})
	return outcomesFixture{h: h}, tags, staff
}

func TestTagsAreAdminsToDefineAndEveryonesToList(t *testing.T) {
	f, tags, _ := newTagsFixture()
	if status, body := f.call(t, "agent-token", "POST", "/v1/tags", `{"name":"Sold","type":"sale"}`); status != http.StatusForbidden || len(tags.created) != 0 {
		t.Errorf("an agent creates a tag: %d %v, want 403 and nothing created", status, body)
	}
	if status, body := f.call(t, "agent-token", "PATCH", "/v1/tags/5", `{"archived":true}`); status != http.StatusForbidden {
		t.Errorf("an agent archives a tag: %d %v, want 403", status, body)
	}
	status, tag := f.call(t, "admin-token", "POST", "/v1/tags", `{"name":"  Sold ","type":"sale"}`)
	if status != http.StatusCreated || tag["id"] != "5" || tag["name"] != "Sold" || tag["type"] != "sale" || tag["archived"] != false {
		t.Errorf("an admin creates a tag: %d %v, want 201 {id 5, name Sold, type sale, archived false}", status, tag)
	}
	status, body := f.call(t, "admin-token", "POST", "/v1/tags", `{"name":"","type":"won"}`)
	if fields := errFields(body); status != http.StatusUnprocessableEntity || fields["name"] == nil || fields["type"] == nil {
		t.Errorf("a blank name and an unknown type: %d %v, want 422 naming both", status, body)
	}
	status, body = f.call(t, "agent-token", "GET", "/v1/tags", "")
	if data, ok := body["data"].([]any); status != http.StatusOK || !ok || len(data) != 0 || tags.includeArchived {
		t.Errorf("an agent lists the tags: %d %v (archived %v), want 200, an empty data array, archived left out", status, body, tags.includeArchived)
	}
	if status, _ := f.call(t, "agent-token", "GET", "/v1/tags?archived=true", ""); status != http.StatusOK || !tags.includeArchived {
		t.Errorf("?archived=true: %d, archived included %v; want 200 with them", status, tags.includeArchived)
	}
	if status, body := f.call(t, "agent-token", "GET", "/v1/tags?archived=some", ""); status != http.StatusUnprocessableEntity || errFields(body)["archived"] == nil {
		t.Errorf("?archived=some: %d %v, want 422 naming archived", status, body)
	}
}

func TestTaggingRefusesConversationsTheCallerMayNotSee(t *testing.T) {
	f, tags, _ := newTagsFixture()
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/conversations/100/tags", `{"tag_id":"5"}`},
		{"DELETE", "/v1/conversations/100/tags/5", ""},
		{"GET", "/v1/conversations/100/episodes", ""},
	} {
		if status, body := f.call(t, "agent-token", tc.method, tc.path, tc.body); status != http.StatusForbidden {
			t.Errorf("%s %s as an agent who may not see it: %d %v, want 403, as on the conversation", tc.method, tc.path, status, body)
		}
	}
	if len(tags.changes) != 0 {
		t.Errorf("the store was asked %v for a conversation the caller may not see", tags.changes)
	}

	status, conv := f.call(t, "agent-token", "POST", "/v1/conversations/101/tags", `{"tag_id":"5"}`)
	got, _ := conv["tags"].([]any)
	if status != http.StatusOK || len(got) != 1 || got[0].(map[string]any)["name"] != "Sold" || len(tags.changes) != 1 ||
		tags.changes[0].TagID != 5 || tags.changes[0].Actor.ID != oAgent.ID {
		t.Errorf("the assignee tags the thread: %d %v (changes %+v), want 200 with tag 5 by the agent", status, conv, tags.changes)
	}
	status, conv = f.call(t, "agent-token", "DELETE", "/v1/conversations/101/tags/5", "")
	if got, ok := conv["tags"].([]any); status != http.StatusOK || !ok || len(got) != 0 || conv["final_tag"] != nil {
		t.Errorf("untagged: %d %v, want 200 with tags [] and final_tag null", status, conv)
	}
	if status, body := f.call(t, "admin-token", "POST", "/v1/conversations/101/tags", `{}`); status != http.StatusUnprocessableEntity || errFields(body)["tag_id"] == nil {
		t.Errorf("no tag_id: %d %v, want 422 naming tag_id", status, body)
	}
	if status, _ := f.call(t, "admin-token", "DELETE", "/v1/conversations/101/tags/x", ""); status != http.StatusNotFound {
		t.Errorf("a malformed tag id: %d, want 404", status)
	}
}

// Resolve and close take no body as before, or one naming the tag to
// close with; the account's closing-tag rule comes back as 422.
func TestResolveAndCloseTakeAnOptionalTag(t *testing.T) {
	f, _, staff := newTagsFixture()
	for _, body := range []string{"", "  ", "{}", `{"tag_id":null}`} {
		if status, out := f.call(t, "admin-token", "POST", "/v1/conversations/101/resolve", body); status != http.StatusOK {
			t.Errorf("resolve with body %q: %d %v, want 200", body, status, out)
		}
	}
	for _, c := range staff.changes {
		if c.TagID != nil {
			t.Errorf("a resolve without tag_id reached the store with tag %v", *c.TagID)
		}
	}
	status, conv := f.call(t, "admin-token", "POST", "/v1/conversations/101/close", `{"tag_id":"5"}`)
	last := staff.changes[len(staff.changes)-1]
	if final, _ := conv["final_tag"].(map[string]any); status != http.StatusOK || last.Action != conversations.ActionClose ||
		last.TagID == nil || *last.TagID != 5 || final["id"] != "5" || final["type"] != "sale" {
		t.Errorf("close with tag 5: %d %v (change %+v), want 200, the tag passed on and shown as final_tag", status, conv, last)
	}
	if status, body := f.call(t, "admin-token", "POST", "/v1/conversations/101/reopen", `{"tag_id":"5"}`); status != http.StatusUnprocessableEntity {
		t.Errorf("reopen with a tag: %d %v, want 422 (reopen takes no fields)", status, body)
	}
	if status, _ := f.call(t, "admin-token", "POST", "/v1/conversations/101/resolve", `{"tag_id":`); status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", status)
	}

	staff.requireTag = true
	if status, body := f.call(t, "admin-token", "POST", "/v1/conversations/101/resolve", ""); status != http.StatusUnprocessableEntity || errFields(body)["tag_id"] == nil {
		t.Errorf("resolve untagged where a closing tag is required: %d %v, want 422 naming tag_id", status, body)
	}
	if status, body := f.call(t, "admin-token", "POST", "/v1/conversations/101/resolve", `{"tag_id":"5"}`); status != http.StatusOK {
		t.Errorf("resolve with a tag where one is required: %d %v, want 200", status, body)
	}
}

// taggedSubjects serves the agent's conversation with a tag on and a
// final tag.
type taggedSubjects struct{ SubjectStore }

func (taggedSubjects) GetConversation(_ context.Context, _, id parley.ID) (conversations.Conversation, error) {
	c := agentsConv
	c.Tags, c.FinalTag = []conversations.TagRef{saleTag}, &saleTag
	return c, nil
}

// A tag change is a conversation.updated event whose data shows the
// conversation's tags as the GET does.
func TestConversationUpdatedShowsTags(t *testing.T) {
	out, err := renderer{taggedSubjects{}}.Render(context.Background(), events.Event{AccountID: oAccount, Type: events.ConversationUpdated, SubjectID: agentsConv.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Data, &got); err != nil {
		t.Fatal(err)
	}
	tags, _ := got["tags"].([]any)
	final, _ := got["final_tag"].(map[string]any)
	if len(tags) != 1 || tags[0].(map[string]any)["name"] != "Sold" || final["type"] != "sale" {
		t.Errorf("conversation.updated data = %s, want tag Sold and final_tag of type sale", out.Data)
	}
}
