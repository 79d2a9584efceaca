package export

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"io"
	"strconv"
)

// The fixed parts of a one-sheet workbook (ECMA-376, SpreadsheetML).
var xlsxParts = []struct{ name, body string }{
	{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`</Types>`},
	{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
		`</Relationships>`},
	{"xl/workbook.xml", xml.Header + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>`},
	{"xl/_rels/workbook.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`</Relationships>`},
}

// maxCellText is the most characters Excel keeps in a cell.
const maxCellText = 32767

// xlsxWriter streams the sheet's rows into the zip as they come; the zip
// entry is deflated on the fly, its sizes written after it.
type xlsxWriter struct {
	zip   *zip.Writer
	sheet *bufio.Writer
	rows  int
	cols  []string // column letters, A, B, …
}

func newXLSX(w io.Writer, columns []string) (*xlsxWriter, error) {
	z := zip.NewWriter(w)
	for _, p := range xlsxParts {
		f, err := z.Create(p.name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return nil, err
		}
	}
	f, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	x := &xlsxWriter{zip: z, sheet: bufio.NewWriterSize(f, 32<<10)}
	x.sheet.WriteString(xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i := range columns {
		x.cols = append(x.cols, columnName(i))
	}
	header := make([]any, len(columns))
	for i, c := range columns {
		header[i] = c
	}
	return x, x.Row(header)
}

func (x *xlsxWriter) Row(values []any) error {
	if x.rows >= xlsxMaxRows {
		return ErrTooManyRows
	}
	x.rows++
	r := strconv.Itoa(x.rows)
	w := x.sheet
	w.WriteString(`<row r="` + r + `">`)
	for i, v := range values {
		if v == nil {
			continue
		}
		ref := x.cols[i] + r
		switch n := v.(type) {
		case int, int64, float64:
			w.WriteString(`<c r="` + ref + `"><v>` + fmtValue(n) + `</v></c>`)
			continue
		case bool:
			b := "0"
			if n {
				b = "1"
			}
			w.WriteString(`<c r="` + ref + `" t="b"><v>` + b + `</v></c>`)
			continue
		}
		w.WriteString(`<c r="` + ref + `" t="inlineStr"><is><t xml:space="preserve">`)
		if err := xml.EscapeText(w, []byte(cellText(text(v)))); err != nil {
			return err
		}
		w.WriteString(`</t></is></c>`)
	}
	_, err := w.WriteString(`</row>`)
	return err
}

func (x *xlsxWriter) Close() error {
	x.sheet.WriteString(`</sheetData></worksheet>`)
	if err := x.sheet.Flush(); err != nil {
		return err
	}
	return x.zip.Close()
}

// cellText cuts s to what a cell holds.
func cellText(s string) string {
	if len(s) <= maxCellText {
		return s
	}
	n := 0
	for i := range s {
		if n == maxCellText {
			return s[:i]
		}
		n++
	}
	return s
}

// columnName is the letters of the i-th column (0 → A, 26 → AA).
func columnName(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}
