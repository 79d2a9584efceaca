package export

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog/hlog"
)

// WriteWait is how long one write of a download may take: a server's
// WriteTimeout would cut a long download, so each write gets its own
// deadline instead and a client that stops reading is let go.
const WriteWait = 30 * time.Second

// Stream writes one export to an HTTP response, for the API and the web
// pages alike. produce reads the rows (the store's ExportRows): it calls
// begin once it has counted them, then row for each. Nothing is written
// before begin, so that a refusal is still an error answer, returned
// here; begin sends the headers at once, so that the client (and a
// progress bar) learns the download is under way before the first rows
// are read. A failure after that can no longer be an error answer: it is
// logged and the connection cut (http.ErrAbortHandler), so that the
// client sees a broken download, never a complete-looking file.
func Stream(w http.ResponseWriter, r *http.Request, f Format, name string, columns []string,
	produce func(begin func() error, row func([]any) error) error) error {
	d := &download{w: w, rc: http.NewResponseController(w), format: f, name: name, columns: columns}
	err := produce(d.begin, func(values []any) error { return d.out.Row(values) })
	if err == nil {
		err = d.close()
	}
	switch {
	case err == nil:
		return nil
	case d.out == nil:
		w.Header().Del("Content-Disposition")
		return err
	}
	if r.Context().Err() == nil { // a client that went away is not ours to fix
		hlog.FromRequest(r).Error().Err(err).Str("export", name).Msg("export cut short")
	}
	panic(http.ErrAbortHandler)
}

type download struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	format  Format
	name    string
	columns []string
	out     Writer
}

// Name is a download's file name: the report and its range's days.
func Name(report string, from, to time.Time) string {
	return fmt.Sprintf("%s-%s-%s", report, from.UTC().Format("20060102"), to.UTC().Format("20060102"))
}

func (d *download) begin() error {
	h := d.w.Header()
	h.Set("Content-Type", d.format.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+d.format.Filename(d.name)+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	out, err := New(&deadlineWriter{d.w, d.rc}, d.format, d.columns)
	if err != nil {
		return err
	}
	d.out = out
	d.w.WriteHeader(http.StatusOK)
	if err := d.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// close ends the file; a download of no rows whose begin the store did
// not call is still a file of its header alone.
func (d *download) close() error {
	if d.out == nil {
		if err := d.begin(); err != nil {
			return err
		}
	}
	return d.out.Close()
}

// deadlineWriter gives every write to the response WriteWait.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if err := d.rc.SetWriteDeadline(time.Now().Add(WriteWait)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	return d.w.Write(p)
}
