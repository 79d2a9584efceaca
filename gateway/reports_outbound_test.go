package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
)

// The outbound report's and the exports' routes over a fake store: how
// the audit pages and how an export answers before and after its first
// byte. The figures themselves are proven in store/ and cmd/parley.

// fakeReports answers the audit with rows and records what it was asked.
type fakeReports struct {
	reports.Store
	rows       []reports.AuditRow
	after      *reports.AuditCursor
	limit      int
	exportRows func(begin func() error, row func([]any) error) error
}

func (f *fakeReports) OutboundAudit(_ context.Context, _ reports.OutboundFilter, after *reports.AuditCursor, limit int) ([]reports.AuditRow, bool, error) {
	f.after, f.limit = after, limit
	return f.rows, true, nil
}

func (f *fakeReports) ExportRows(_ context.Context, _ reports.Export, limit int, begin func() error, row func([]any) error) error {
	f.limit = limit
	return f.exportRows(begin, row)
}

func reportsHandler(store *fakeReports) http.Handler {
	return NewHandler(Deps{Log: zerolog.Nop(), Clock: &parley.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Store: fakeConversations{}, Reports: store})
}

func adminGet(h http.Handler, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer admin-token")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const janRange = "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"

// TestAuditCursorResumesAfterTheLastRow: the next page starts after the
// last row's (sent_at, send_id), whatever the client makes of the cursor.
func TestAuditCursorResumesAfterTheLastRow(t *testing.T) {
	last := reports.AuditRow{SendID: 42, SentAt: time.Date(2026, 1, 5, 9, 0, 0, 123e6, time.UTC)}
	store := &fakeReports{rows: []reports.AuditRow{{SendID: 41, SentAt: last.SentAt}, last}}
	h := reportsHandler(store)
	w := adminGet(h, "/v1/reports/outbound/audit?"+janRange)
	if w.Code != 200 || store.limit != defaultAuditPage || store.after != nil {
		t.Fatalf("first page: %d, limit %d, after %v: %s", w.Code, store.limit, store.after, w.Body)
	}
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	if page.NextCursor == nil {
		t.Fatal("no next_cursor though the store has more")
	}
	adminGet(h, "/v1/reports/outbound/audit?limit=2000&"+janRange+"&cursor="+*page.NextCursor)
	if store.after == nil || store.after.SendID != 42 || !store.after.SentAt.Equal(last.SentAt) || store.limit != 2000 {
		t.Errorf("second page asked after %+v, limit %d; want after send 42 at %v, limit 2000", store.after, store.limit, last.SentAt)
	}
	for _, bad := range []string{"nope", reports.AuditCursor{SentAt: last.SentAt}.String()} {
		if w := adminGet(h, "/v1/reports/outbound/audit?"+janRange+"&cursor="+bad); w.Code != 422 || !strings.Contains(w.Body.String(), `"cursor"`) {
			t.Errorf("cursor %q: %d %s; want 422 naming cursor", bad, w.Code, w.Body)
		}
	}
}

// TestExportRefusedBeforeAnyByte: the store's too_many_rows comes before
// begin, so the answer is the API's JSON error, not a file.
func TestExportRefusedBeforeAnyByte(t *testing.T) {
	store := &fakeReports{exportRows: func(func() error, func([]any) error) error { return reports.TooManyRows(export.MaxRows) }}
	w := adminGet(reportsHandler(store), "/v1/exports/messages?format=xlsx&"+janRange)
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"too_many_rows"`) || !strings.Contains(w.Body.String(), "1,000,000") {
		t.Errorf("%d %s; want 422 too_many_rows over 1,000,000 rows", w.Code, w.Body)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("headers %v; want a JSON error, not an attachment", w.Header())
	}
	if store.limit != export.MaxRows {
		t.Errorf("limit %d; want export.MaxRows without Deps.ExportLimit", store.limit)
	}
}

// TestExportFailureMidwayCutsTheConnection: once the file has begun, a
// failure aborts the response so that it never looks complete.
func TestExportFailureMidwayCutsTheConnection(t *testing.T) {
	store := &fakeReports{exportRows: func(begin func() error, row func([]any) error) error {
		if err := begin(); err != nil {
			return err
		}
		if err := row(make([]any, len(reports.MessageColumns))); err != nil {
			return err
		}
		return errors.New("the disk went away")
	}}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v; want http.ErrAbortHandler", v)
		}
	}()
	adminGet(reportsHandler(store), "/v1/exports/messages?format=json&"+janRange)
	t.Error("the export answered as if complete")
}

// TestOpenAPIDocumentsEveryExportParameter: the export's query parameters
// in openapi.json are exactly those some export takes (each refuses the
// others), and each names the exports that take it.
func TestOpenAPIDocumentsEveryExportParameter(t *testing.T) {
	op := documentedOperations(t, loadOpenAPI(t))[openAPIOperation{"GET", "/v1/exports/{report}"}]
	documented := map[string]string{}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		if p, _ := p.(map[string]any); p["in"] == "query" {
			documented[p["name"].(string)], _ = p["description"].(string)
		}
	}
	taken := map[string]bool{}
	for _, report := range reports.ExportReports {
		for _, name := range reports.ExportParams(report) {
			if name == "q" { // read only to refuse it with its reason
				continue
			}
			taken[name] = true
			desc, ok := documented[name]
			switch {
			case !ok:
				t.Errorf("the %s export takes %s; openapi.json does not document it", report, name)
			case name != "format" && name != "from" && name != "to" && !strings.Contains(desc, report):
				t.Errorf("%s's description %q does not say the %s export takes it", name, desc, report)
			}
		}
	}
	for name := range documented {
		if !taken[name] {
			t.Errorf("openapi.json documents %s, which no export takes", name)
		}
	}
}

// TestExportRefusesAParameterItDoesNotTake: through the route, an unknown
// filter is the API's 422 naming it, and nothing is read.
func TestExportRefusesAParameterItDoesNotTake(t *testing.T) {
	store := &fakeReports{exportRows: func(func() error, func([]any) error) error {
		t.Error("the export was read")
		return nil
	}}
	w := adminGet(reportsHandler(store), "/v1/exports/conversations?format=csv&"+janRange+"&campaign_id=4")
	var body struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != 422 || err != nil || body.Error.Code != "validation_failed" || body.Error.Fields["campaign_id"] == "" {
		t.Errorf("%d %s; want 422 validation_failed naming campaign_id", w.Code, w.Body)
	}
}
