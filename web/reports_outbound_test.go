package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store/storetest"
)

// fakeOutbound is a reports.Store whose outbound calls answer what the
// test set and remember what they were asked.
type fakeOutbound struct {
	reports.Store
	report  reports.OutboundReport
	rows    []reports.AuditRow
	more    bool
	filter  reports.OutboundFilter
	after   *reports.AuditCursor
	limit   int
	refuse  bool
	exports int
}

func (f *fakeOutbound) OutboundReport(_ context.Context, flt reports.OutboundFilter) (reports.OutboundReport, error) {
	f.filter = flt
	return f.report, nil
}

func (f *fakeOutbound) OutboundAudit(_ context.Context, flt reports.OutboundFilter, after *reports.AuditCursor, limit int) ([]reports.AuditRow, bool, error) {
	f.filter, f.after, f.limit = flt, after, limit
	return f.rows, f.more, nil
}

func (f *fakeOutbound) ExportRows(_ context.Context, x reports.Export, limit int, begin func() error, row func([]any) error) error {
	f.exports++
	f.filter = x.(reports.OutboundFilter)
	f.limit = limit
	if f.refuse {
		return reports.TooManyRows(limit)
	}
	if err := begin(); err != nil {
		return err
	}
	for _, r := range f.rows {
		if err := row(r.Values()); err != nil {
			return err
		}
	}
	return nil
}

// outboundAdmin is the admin of the account outboundServer creates.
var outboundAdmin conversations.User

func outboundServer(t *testing.T, fake *fakeOutbound) *Server {
	t.Helper()
	db := storetest.MustOpen(t, "sqlite")
	_, admin, err := db.CreateAccount(context.Background(), "Acme", conversations.NewUser{Email: "ada@example.com", Name: "Ada",
		Role: conversations.RoleAdmin}, conversations.NewTokenSecret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	outboundAdmin = admin
	s, err := New(Deps{Store: db, Tags: db, Campaigns: db, Reports: fake, Clock: &parley.FixedClock{T: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get serves path to u through the page's handler (as page() would once
// the session is read) and returns the answer.
func (s *Server) outboundGet(u conversations.User, path string, h handlerFunc, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	r = r.WithContext(context.WithValue(r.Context(), authKey{}, auth{user: u}))
	w := httptest.NewRecorder()
	s.public(h).ServeHTTP(w, r)
	return w
}

var sampleReport = reports.OutboundReport{
	Totals: reports.OutboundCounts{Sends: 8, Contacts: 6, Replied: 4, Assigned: 2, Sales: 1},
	ByOriginType: []reports.OriginTypeCounts{
		{OriginType: "campaign", OutboundCounts: reports.OutboundCounts{Sends: 6, Contacts: 5, Replied: 3, Assigned: 2, Sales: 1}},
		{OriginType: "quick_message", OutboundCounts: reports.OutboundCounts{Sends: 2, Contacts: 2, Replied: 1}},
	},
	ByCampaign: []reports.CampaignCounts{
		{CampaignID: 11, Name: "Spring", OriginType: "campaign", OutboundCounts: reports.OutboundCounts{Sends: 2, Contacts: 2, Replied: 2, Sales: 1}},
		{CampaignID: 12, Name: "autumn", OriginType: "campaign", OutboundCounts: reports.OutboundCounts{Sends: 4, Contacts: 3, Replied: 1, Assigned: 2}},
	},
	FinalTags:   []reports.FinalTagCount{{TagID: 3, Name: "Won", Type: conversations.TagSale, Count: 1}, {TagID: 4, Name: "Later", Type: conversations.TagFollowUp, Count: 3}},
	NewContacts: 4, RecurringContacts: 2,
}

// The summary reads the form into the report's filter (the last day
// included, the reply window in hours), and shows the figures with their
// rates, the funnel drawn from them, the origin types, the final tags,
// new against recurring, and the definitions; the tabs keep the filters.
func TestOutboundSummaryPage(t *testing.T) {
	fake := &fakeOutbound{report: sampleReport}
	s := outboundServer(t, fake)
	w := s.outboundGet(outboundAdmin, "/reports/outbound?from=2026-01-01&to=2026-01-31&origin_type=campaign&reply_window=48&contact_kind=new", s.outboundReport)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	f := fake.filter
	if !f.From.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) ||
		f.OriginType != "campaign" || f.ReplyWindow != 48*time.Hour || f.ContactKind != reports.ContactNew || f.AccountID != outboundAdmin.AccountID {
		t.Errorf("the filter asked for = %+v", f)
	}
	body := w.Body.String()
	for _, want := range []string{
		`data-figure="sends"`, `<strong class="big">8</strong>`, `<strong class="big">4</strong> <span data-rate>50.0%</span>`,
		`<strong class="big">1</strong> <span data-rate>12.5%</span>`,
		`<g class="bar-row" data-key="successful_sends">`, `<g class="bar-row" data-key="sales">`, `Replied: 4 of 8 successful sends (50.0%)`,
		`<tr data-origin="quick_message"><th scope="row">Quick message</th>`,
		`<th scope="row">Later</th><td>Follow-up</td><td class="num">3</td><td class="num">75.0%</td>`,
		`<strong data-kind="new">4</strong>`, `<strong data-kind="recurring">2</strong>`,
		`conversation that was already open counts too, so successful sends can be more than the conversations started`,
		`within 48 hours after the send`,
		`<a href="/reports/outbound" aria-current="page">Outbound</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the summary lacks %s", want)
		}
	}
	tab := regexp.MustCompile(`<a href="([^"]+)">Detailed</a>`).FindStringSubmatch(body)
	if tab == nil || !strings.Contains(tab[1], "origin_type=campaign") || !strings.Contains(tab[1], "reply_window=48") ||
		!strings.Contains(tab[1], "tab=detailed") || !strings.Contains(tab[1], "from=2026-01-01") {
		t.Errorf("the Detailed tab's link %v does not keep the filters", tab)
	}
	// The funnel narrows: each stage's bar no wider than the one before.
	widths := regexp.MustCompile(`(?s)data-key="(successful_sends|replied|assigned|sales)">.*?width="([0-9.]+)"`).FindAllStringSubmatch(body, -1)
	if len(widths) != 4 || widths[0][2] != "410" || widths[3][2] == widths[0][2] {
		t.Errorf("funnel bars = %v; want four, the first full width", widths)
	}
}

// A refused filter shows the form again with what to correct (422), and
// asks the store nothing; an agent without view-all is refused.
func TestOutboundRefusals(t *testing.T) {
	fake := &fakeOutbound{report: sampleReport}
	s := outboundServer(t, fake)
	w := s.outboundGet(outboundAdmin, "/reports/outbound?reply_window=0&campaign_name=Spr", s.outboundReport)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Reply window must be a whole number of hours") ||
		!strings.Contains(w.Body.String(), `value="Spr"`) {
		t.Errorf("a bad reply window: %d, want 422 with the form kept and the field named:\n%.3000s", w.Code, w.Body)
	}
	if h := w.Result().Header; h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("the refusal went out with Cache-Control %q and Content-Type %q; want a page's no-store and text/html",
			h.Get("Cache-Control"), h.Get("Content-Type"))
	}
	if fake.filter.AccountID != 0 {
		t.Error("the store was asked for a refused filter")
	}
	agent := conversations.User{ID: 2, AccountID: outboundAdmin.AccountID, Role: conversations.RoleAgent}
	if w := s.outboundGet(agent, "/reports/outbound", s.outboundReport); w.Code != http.StatusForbidden {
		t.Errorf("an agent: %d, want 403", w.Code)
	}
	if w := s.outboundGet(agent, "/reports/outbound/export?format=csv", s.outboundExport); w.Code != http.StatusForbidden || fake.exports != 0 {
		t.Errorf("an agent's download: %d after %d exports, want 403 and none", w.Code, fake.exports)
	}
}

// The detailed table sorts on the server: by sends, most first, unless a
// header was clicked; the sorted column says so (aria-sort) and its link
// sorts the other way, the others start from their natural direction.
func TestOutboundDetailedSort(t *testing.T) {
	fake := &fakeOutbound{report: sampleReport}
	s := outboundServer(t, fake)
	order := func(path string) (string, string) {
		t.Helper()
		w := s.outboundGet(outboundAdmin, path, s.outboundReport)
		if w.Code != 200 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		var names []string
		for _, m := range regexp.MustCompile(`<a href="/campaigns/\d+">([^<]+)</a>`).FindAllStringSubmatch(w.Body.String(), -1) {
			names = append(names, m[1])
		}
		return strings.Join(names, ","), w.Body.String()
	}
	got, body := order("/reports/outbound?tab=detailed")
	if got != "autumn,Spring" {
		t.Errorf("default order %s; want most sends first", got)
	}
	if !regexp.MustCompile(`<th scope="col" class="num" aria-sort="descending"><a href="[^"]*dir=asc[^"]*sort=sends[^"]*"`).MatchString(body) {
		t.Error("the Sends header is not marked descending with a link to sort ascending")
	}
	if !regexp.MustCompile(`<th scope="col"><a href="[^"]*dir=asc[^"]*sort=campaign[^"]*tab=detailed`).MatchString(body) {
		t.Error("the Campaign header does not link to an ascending sort by name")
	}
	if got, _ := order("/reports/outbound?tab=detailed&sort=sales_rate&dir=desc"); got != "Spring,autumn" {
		t.Errorf("by sale rate: %s; want Spring (50%%) first", got)
	}
	if got, _ := order("/reports/outbound?tab=detailed&sort=campaign&dir=asc"); got != "autumn,Spring" {
		t.Errorf("by name: %s; want case-insensitive a to z", got)
	}
}

// The audit shows every field of a row, pages with the last row's cursor
// (Next) and back to the start (First), and its downloads keep the
// filters.
func TestOutboundAuditPage(t *testing.T) {
	sent := time.Date(2026, 1, 3, 10, 0, 0, 123456000, time.UTC)
	replied := sent.Add(time.Hour)
	camp := parley.ID(11)
	fake := &fakeOutbound{more: true, rows: []reports.AuditRow{{SendID: 501, SentAt: sent, CampaignID: &camp, CampaignName: "Spring", OriginType: "campaign",
		ChannelID: 9, ContactID: 21, ContactName: "Lin", Phone: "+14155550101", Status: conversations.MessageDelivered, RepliedAt: &replied,
		FinalTag: "Won", FinalTagType: conversations.TagSale, Sale: true, ContactKind: reports.ContactNew, ConversationID: 77}}}
	s := outboundServer(t, fake)
	assignee := outboundAdmin.ID
	fake.rows[0].AssigneeID = &assignee
	w := s.outboundGet(outboundAdmin, "/reports/outbound?tab=audit&from=2026-01-01&to=2026-01-31&channel_id=9", s.outboundReport)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if fake.limit != reports.MaxAuditPage || fake.after != nil || fake.filter.ChannelID == nil || *fake.filter.ChannelID != 9 {
		t.Errorf("asked for limit %d after %v with %+v", fake.limit, fake.after, fake.filter)
	}
	body := w.Body.String()
	for _, want := range []string{`<tr data-send="501">`, `3 Jan 2026 10:00:00`, `>Spring</a>`, `Campaign`, `&#43;14155550101`, `delivered`,
		`3 Jan 2026 11:00:00`, `Ada <span class="muted">#` + assignee.String() + `</span>`, `<td>Won</td><td>Sale</td>`, `<td>Yes</td><td>New</td>`,
		`href="/inbox/conversations/77"`, `data-download data-format="csv"`, `data-download data-format="xlsx"`, `data-download data-format="json"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit lacks %s", want)
		}
	}
	if strings.Contains(body, "First page") {
		t.Error("the first page links to the first page")
	}
	next := regexp.MustCompile(`<a class="button" href="([^"]+)" rel="next">`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no Next link while there are more rows")
	}
	href := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(href, "channel_id=9") || !strings.Contains(href, "tab=audit") {
		t.Errorf("Next %s drops the filters", href)
	}
	exp := regexp.MustCompile(`href="(/reports/outbound/export\?[^"]+)" data-download data-format="csv"`).FindStringSubmatch(body)
	if exp == nil || !strings.Contains(exp[1], "channel_id=9") || !strings.Contains(exp[1], "format=csv") {
		t.Errorf("the CSV download %v does not keep the filters", exp)
	}

	fake.more = false
	w = s.outboundGet(outboundAdmin, href, s.outboundReport)
	if fake.after == nil || !fake.after.SentAt.Equal(sent) || fake.after.SendID != 501 {
		t.Errorf("the Next page resumed after %+v; want after send 501 at %s", fake.after, sent)
	}
	if body := w.Body.String(); !strings.Contains(body, "First page") || strings.Contains(body, `rel="next"`) {
		t.Error("the last page should link to the first and not onwards")
	}
	if w := s.outboundGet(outboundAdmin, "/reports/outbound?tab=audit&cursor=nonsense", s.outboundReport); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("a bad cursor: %d, want 422", w.Code)
	}
}

// A download streams the rows the filters select through ExportRows as a
// file; over the limit it is refused before anything is sent, in words
// the page shows.
func TestOutboundExport(t *testing.T) {
	sent := time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC)
	fake := &fakeOutbound{rows: []reports.AuditRow{
		{SendID: 501, SentAt: sent, OriginType: "quick_message", ChannelID: 9, ContactID: 21, Phone: "+14155550101", Status: conversations.MessageSent, ContactKind: reports.ContactNew, ConversationID: 77},
		{SendID: 502, SentAt: sent.Add(time.Minute), OriginType: "quick_message", ChannelID: 9, ContactID: 22, ContactName: "Lin, \"L\"", Phone: "+14155550102", Status: conversations.MessageSent, ContactKind: reports.ContactRecurring, ConversationID: 78},
	}}
	s := outboundServer(t, fake)
	w := s.outboundGet(outboundAdmin, "/reports/outbound/export?format=csv&from=2026-01-01&to=2026-01-31&origin_type=quick_message", s.outboundExport)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		w.Header().Get("Content-Disposition") != `attachment; filename="outbound_audit-20260101-20260201.csv"` {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "send_id,sent_at,campaign_id") || !strings.HasPrefix(lines[2], "502,") {
		t.Errorf("the CSV = %q; want the header and two rows", w.Body)
	}
	if fake.filter.OriginType != "quick_message" || fake.limit != 1_000_000 {
		t.Errorf("exported %+v with limit %d", fake.filter, fake.limit)
	}

	fake.refuse = true
	w = s.outboundGet(outboundAdmin, "/reports/outbound/export?format=json", s.outboundExport, "X-Parley-Background", "1")
	if w.Code != http.StatusUnprocessableEntity || w.Body.String() != "the export has more than 1,000,000 rows; narrow the range or the filters" ||
		w.Header().Get("Content-Disposition") != "" {
		t.Errorf("over the limit: %d %q %v", w.Code, w.Body, w.Header())
	}
	if w := s.outboundGet(outboundAdmin, "/reports/outbound/export?format=pdf", s.outboundExport); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown format: %d, want 422", w.Code)
	}
}

// endlessExport streams rows until its context ends, as the store does
// until a cancelled request stops its query; stopped says why it ended.
type endlessExport struct {
	*fakeOutbound
	stopped chan error
}

func (f *endlessExport) ExportRows(ctx context.Context, _ reports.Export, _ int, begin func() error, row func([]any) error) error {
	err := begin()
	values := reports.AuditRow{SendID: 1, SentAt: time.Now(), OriginType: "campaign", Phone: "+14155550101"}.Values()
	for err == nil {
		if err = ctx.Err(); err == nil {
			err = row(values)
		}
	}
	f.stopped <- err
	return err
}

// A download the browser abandons (the page's Cancel aborts its fetch)
// ends the request: the export's context is cancelled and its rows stop.
func TestOutboundExportStopsWhenCancelled(t *testing.T) {
	fake := &endlessExport{fakeOutbound: &fakeOutbound{}, stopped: make(chan error, 1)}
	s := outboundServer(t, fake.fakeOutbound)
	s.d.Reports = fake
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), authKey{}, auth{user: outboundAdmin}))
		s.public(s.outboundExport).ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/reports/outbound/export?format=csv", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil || res.StatusCode != 200 {
		t.Fatalf("the download's start: %d, %d bytes, %v", res.StatusCode, n, err)
	}
	cancel()
	res.Body.Close()
	select {
	case err := <-fake.stopped:
		if err == nil {
			t.Error("the export ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the export kept going after the download was cancelled")
	}
}
