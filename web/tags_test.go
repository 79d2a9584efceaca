package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// A tag row's form renames without touching the type unless the type was
// changed, so that renaming a tag already applied is never refused.
func TestTagEditSendsTypeOnlyWhenChanged(t *testing.T) {
	sale := conversations.Tag{ID: 3, Name: "Sale", Type: conversations.TagSale, Used: true}
	form := func(v string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/settings/tags/3", strings.NewReader(v))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	p, err := tagEdit(form("name=+Won+&type=sale"), sale, time.Now())
	if err != nil || p.Name == nil || *p.Name != "Won" || p.Type != nil {
		t.Fatalf("rename: patch %+v, %v; want the trimmed name and no type", p, err)
	}
	p, err = tagEdit(form("name=Sale&type=positive"), sale, time.Now())
	if err != nil || p.Type == nil || *p.Type != conversations.TagPositive {
		t.Fatalf("retype: patch %+v, %v; want type positive", p, err)
	}
	if _, err = tagEdit(form("name=Sale&type=bogus"), sale, time.Now()); !parley.IsKind(err, parley.EINVALID) {
		t.Fatalf("an unknown type: %v, want invalid", err)
	}
	if _, err = tagEdit(form("name=&type=sale"), sale, time.Now()); !parley.IsKind(err, parley.EINVALID) {
		t.Fatalf("an empty name: %v, want invalid", err)
	}
	if err := typeFixed(sale); errorStatus(err) != http.StatusConflict || !strings.Contains(errorText(err), "its type stays Sale") {
		t.Fatalf("the retype refusal: %d %q", errorStatus(err), errorText(err))
	}
}

// The tag filters count as filters, and show their choice.
func TestTagFiltersChoice(t *testing.T) {
	admin := conversations.User{ID: 1, AccountID: 1, Role: conversations.RoleAdmin}
	q, _ := url.ParseQuery("tag_id=5&final_tag_type=sale")
	f, _, err := conversations.ParseListQuery(admin, q)
	if err != nil {
		t.Fatal(err)
	}
	var d listData
	d.tagFilters(f)
	if d.Filtered != 2 || !d.TagChosen(f.TagID, 5) || d.TagChosen(f.TagID, 6) || d.TagChosen(f.FinalTagID, 5) {
		t.Fatalf("%d filters; chosen 5: %v, 6: %v, final 5: %v", d.Filtered, d.TagChosen(f.TagID, 5), d.TagChosen(f.TagID, 6), d.TagChosen(f.FinalTagID, 5))
	}
}

// The details pane shows the thread's tags with their remove buttons,
// offers only the tags it has not got, and the final tag it closed with;
// the thread offers resolving with a tag.
func TestThreadTagsRender(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	sale := conversations.Tag{ID: 3, Name: "Sale", Type: conversations.TagSale}
	follow := conversations.Tag{ID: 4, Name: "Call back", Type: conversations.TagFollowUp}
	conv := conversations.Conversation{ID: 7, Status: conversations.StatusOpen, Priority: conversations.PriorityNone,
		Tags:     []conversations.TagRef{{ID: 3, Name: "Sale", Type: conversations.TagSale}},
		FinalTag: &conversations.TagRef{ID: 4, Name: "Call back", Type: conversations.TagFollowUp}}
	th := &threadData{Conv: conv, URL: "/inbox/conversations/7", CanAct: true, Tags: []conversations.Tag{sale, follow},
		Statuses: []conversations.Action{conversations.ActionReopen, conversations.ActionPending, conversations.ActionClose}}
	v := view{Data: inboxData{Thread: th}}
	var details, thread bytes.Buffer
	if err := p.byName["inbox"].ExecuteTemplate(&details, "pane:details", v); err != nil {
		t.Fatal(err)
	}
	if err := p.byName["inbox"].ExecuteTemplate(&thread, "pane:thread", v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`action="/inbox/conversations/7/tags/3/delete"`,
		`aria-label="Remove tag Sale"`,
		`<option value="4">Call back (Follow-up)</option>`,
		`<dt>Closed with</dt>`,
	} {
		if !strings.Contains(details.String(), want) {
			t.Errorf("the details pane lacks %s", want)
		}
	}
	if strings.Contains(details.String(), `<option value="3">`) {
		t.Error("the Add tag control offers the tag the thread has already")
	}
	for _, want := range []string{
		`action="/inbox/conversations/7/resolve"`,
		`<select id="closing-tag" name="tag_id" required`,
		`<option value="3">Sale (Sale)</option>`,
		`formaction="/inbox/conversations/7/close"`,
	} {
		if !strings.Contains(thread.String(), want) {
			t.Errorf("the thread lacks %s", want)
		}
	}
}

// Settings → Tags says which tags are in use (their type fixed) and
// offers to bring an archived one back.
func TestTagsPageRender(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	d := tagsData{Types: conversations.TagTypes, RequireClosingTag: true, Tags: []conversations.Tag{
		{ID: 3, Name: "Sale", Type: conversations.TagSale, Used: true},
		{ID: 4, Name: "Old", Type: conversations.TagOther, Archived: true}}}
	var buf bytes.Buffer
	if err := p.byName["settings_tags"].ExecuteTemplate(&buf, "layout", view{Path: "/settings/tags", Data: d}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`<span class="hint" id="tag-3-fixed">In use: the type is fixed</span>`,
		`<option value="sale" selected>Sale</option>`,
		`aria-label="Unarchive Old"`,
		`aria-label="Archive Sale"`,
		`name="require_closing_tag" value="true" checked`,
		`<option value="self_management_end">Self-management end</option>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// Resolve with tag… is offered on every thread while there are tags: a
// resolved or closed thread is ended again with the tag chosen.
func TestClosesWithTag(t *testing.T) {
	tags := []conversations.Tag{{ID: 3, Name: "Sale", Type: conversations.TagSale}}
	for st, label := range map[conversations.Status]string{conversations.StatusNew: "Resolve with tag…",
		conversations.StatusOpen: "Resolve with tag…", conversations.StatusSnoozed: "Resolve with tag…",
		conversations.StatusResolved: "Resolve again with tag…", conversations.StatusClosed: "Close again with tag…"} {
		td := &threadData{Conv: conversations.Conversation{Status: st}, Tags: tags}
		if !td.ClosesWithTag() {
			t.Errorf("%s: not offered", st)
		}
		if got := td.CloseWithTagLabel(); got != label {
			t.Errorf("%s: labelled %q, want %q", st, got, label)
		}
	}
	if (&threadData{Conv: conversations.Conversation{Status: conversations.StatusOpen}}).ClosesWithTag() {
		t.Error("offered without any tag")
	}
}
