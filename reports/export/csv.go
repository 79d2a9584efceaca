package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

type csvWriter struct {
	w   *csv.Writer
	row []string
}

func newCSV(w io.Writer, columns []string) (*csvWriter, error) {
	c := &csvWriter{w: csv.NewWriter(w), row: make([]string, len(columns))}
	if err := c.w.Write(columns); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvWriter) Row(values []any) error {
	for i, v := range values {
		c.row[i] = text(v)
		if _, free := v.(Text); free && c.row[i] != "" && strings.IndexByte(formulaStarts, c.row[i][0]) >= 0 {
			c.row[i] = "'" + c.row[i]
		}
	}
	return c.w.Write(c.row[:len(values)])
}

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (OWASP, CSV injection); a ' before them makes it text.
const formulaStarts = "=+-@\t\r"

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// fmtValue writes a number or a bool as text.
func fmtValue(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
