// Package export streams report rows to a client as CSV, JSON (one
// array), NDJSON (one object a line) or XLSX, with memory that stays flat
// however many rows there are: every row is written as it comes and
// nothing is kept but a small buffer. Every export of Parley (outcomes,
// and the exports of the other reports) writes through it.
//
// XLSX is written part by part through archive/zip (one sheet, inline
// strings) rather than with excelize: excelize's StreamWriter spools the
// sheet but still assembles the whole zip in memory when the file is
// saved, so memory grows with the rows.
package export

import (
	"errors"
	"io"
	"time"

	"github.com/parleyhq/parley"
)

// Format is an export's file format.
type Format string

// Formats.
const (
	CSV    Format = "csv"
	JSON   Format = "json"
	NDJSON Format = "ndjson"
	XLSX   Format = "xlsx"
)

// MaxRows is the most rows an export writes (API.md): more is refused
// before anything is sent, never cut short.
const MaxRows = 1_000_000

// xlsxMaxRows is Excel's limit of rows on a sheet, the header included.
const xlsxMaxRows = 1_048_576

// ErrTooManyRows is returned by Row past what the format can hold.
var ErrTooManyRows = errors.New("export: more rows than the format holds")

// ParseFormat reads the format= parameter; 422 naming format otherwise.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case CSV, JSON, NDJSON, XLSX:
		return f, nil
	}
	return "", parley.Invalid(map[string]string{"format": "must be one of csv, xlsx, json, ndjson"})
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	switch f {
	case JSON:
		return "application/json"
	case NDJSON:
		return "application/x-ndjson"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Filename is a download's name: the report's and the format's extension.
func (f Format) Filename(report string) string { return report + "." + string(f) }

// Writer writes an export's rows: Row once per row, with values in the
// order of the columns given to New, then Close. A value is a string,
// an integer, a float, a bool, a time.Time, a JSONText, a Text, or nil
// (empty).
type Writer interface {
	Row(values []any) error
	// Close ends the file (the JSON array's bracket, the XLSX's last
	// parts) and flushes it; it does not close the underlying writer.
	Close() error
}

// JSONText is a value that already is JSON (an outcome's metadata): JSON
// exports embed it, the others write it as text.
type JSONText []byte

// Text is free text people wrote (a body, a name, a tag, notes): CSV
// prefixes it with ' when it starts like a formula, so that a spreadsheet
// does not run it (CSV injection). Ids, phones, times are plain strings.
type Text string

// New starts an export of the given columns to w.
func New(w io.Writer, f Format, columns []string) (Writer, error) {
	switch f {
	case JSON, NDJSON:
		return newJSON(w, columns, f == NDJSON), nil
	case XLSX:
		return newXLSX(w, columns)
	}
	return newCSV(w, columns)
}

// text is a value as CSV and XLSX write it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case Text:
		return string(x)
	case JSONText:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmtValue(v)
}
