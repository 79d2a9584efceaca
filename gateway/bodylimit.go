package gateway

import (
	"net/http"

	"github.com/parleyhq/parley"
)

// limitBody turns away a request whose declared body is over limit before
// anything of it is read or parsed, and stops a body of undeclared length
// at limit: the handler's read then fails, and the server closes the
// connection instead of draining the rest.
func limitBody(limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeError(w, r, parley.Errorf(parley.ETOOLARGE, "the request body is over %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}
