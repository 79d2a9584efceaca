package export

import (
	"bufio"
	"encoding/json"
	"io"
)

// jsonWriter writes each row as an object whose keys are the columns, in
// their order: as elements of one array, or one a line (NDJSON).
type jsonWriter struct {
	w     *bufio.Writer
	keys  [][]byte // the columns, quoted once
	lines bool
	rows  int
}

func newJSON(w io.Writer, columns []string, lines bool) *jsonWriter {
	j := &jsonWriter{w: bufio.NewWriterSize(w, 32<<10), lines: lines}
	for _, c := range columns {
		k, _ := json.Marshal(c)
		j.keys = append(j.keys, k)
	}
	return j
}

func (j *jsonWriter) Row(values []any) error {
	switch {
	case j.lines:
	case j.rows == 0:
		j.w.WriteByte('[')
	default:
		j.w.WriteByte(',')
	}
	j.rows++
	j.w.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			j.w.WriteByte(',')
		}
		j.w.Write(j.keys[i])
		j.w.WriteByte(':')
		if err := j.value(v); err != nil {
			return err
		}
	}
	j.w.WriteByte('}')
	if j.lines {
		j.w.WriteByte('\n')
	}
	return nil
}

func (j *jsonWriter) value(v any) error {
	if raw, ok := v.(JSONText); ok && json.Valid(raw) {
		_, err := j.w.Write(raw)
		return err
	}
	if raw, ok := v.(JSONText); ok {
		v = string(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

func (j *jsonWriter) Close() error {
	if !j.lines {
		if j.rows == 0 {
			j.w.WriteByte('[')
		}
		j.w.WriteString("]\n")
	}
	return j.w.Flush()
}
