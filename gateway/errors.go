package gateway

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// writeError answers with the API's JSON error. Only 5xx are logged: they
// are ours to fix; 4xx are the client's and show in the access log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *parley.Error
	if !errors.As(err, &pe) {
		hlog.FromRequest(r).Error().Err(err).Msg("internal error")
		pe = &parley.Error{Kind: parley.EINTERNAL, Code: parley.EINTERNAL, Message: "internal error"}
	}
	status := parley.HTTPStatus(pe.Kind)
	switch {
	case pe.Kind == parley.EUNAVAILABLE: // the client's to repeat, not a fault here
		hlog.FromRequest(r).Warn().Err(err).Msg("asked to come again")
	case status >= 500 && pe.Kind != parley.EINTERNAL:
		hlog.FromRequest(r).Error().Err(err).Msg("server error")
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: pe.Code, Message: pe.Message, Fields: pe.Fields}})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, parley.Errorf(parley.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed",
		Message: r.Method + " is not allowed on " + r.URL.Path}})
}

func forbidden(format string, args ...any) error {
	return parley.Errorf(parley.EFORBIDDEN, format, args...)
}
