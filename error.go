package parley

import (
	"errors"
	"fmt"
	"net/http"
)

// Error kinds. Domain code and store return them; the gateway maps each to
// one HTTP status in a single table.
const (
	EINVALID         = "invalid"         // 422: input fails validation
	EMALFORMED       = "malformed"       // 400: input cannot be parsed at all
	ENOTFOUND        = "not_found"       // 404: no such thing in this account
	ECONFLICT        = "conflict"        // 409: state forbids the action
	EFORBIDDEN       = "forbidden"       // 403: seen but not allowed
	EUNAUTHENTICATED = "unauthenticated" // 401: no or bad credentials
	ETOOLARGE        = "too_large"       // 413: body over the limit
	EINTERNAL        = "internal"        // 500: a bug or an outage
	EUPSTREAM        = "upstream"        // 502: a carrier could not be asked
	ERATELIMITED     = "rate_limited"    // 429
	EUNAVAILABLE     = "unavailable"     // 503: not now, asked again later
)

// Error is a failure a client can act on. Code is one of the kinds above or
// a more specific snake_case code; Fields names invalid input fields.
type Error struct {
	Kind    string
	Code    string
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("parley error: kind=%s code=%s message=%s", e.Kind, e.Code, e.Message)
}

// Errorf returns an Error of the given kind whose code is the kind itself.
func Errorf(kind string, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error naming the offending fields.
func Invalid(fields map[string]string) *Error {
	return &Error{Kind: EINVALID, Code: "validation_failed", Message: "the request has invalid fields", Fields: fields}
}

// Conflict returns a state conflict with a specific code, e.g. "contact_opted_out".
func Conflict(code, format string, args ...any) *Error {
	return &Error{Kind: ECONFLICT, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, EINTERNAL for errors that are not a
// parley Error, and "" for nil.
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}

// MergeInvalid folds validations done one after the other into one
// answer: a 422 naming every field of the validation errors (EINVALID)
// among errs, an earlier error's message kept for a field two name. The
// first error of another kind is returned as it is; nil when all are nil.
func MergeInvalid(errs ...error) error {
	var fields map[string]string
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != EINVALID {
			return err
		}
		if fields == nil {
			fields = map[string]string{}
		}
		for k, v := range e.Fields {
			if _, ok := fields[k]; !ok {
				fields[k] = v
			}
		}
	}
	if fields == nil {
		return nil
	}
	return Invalid(fields)
}

// IsKind reports whether err is a parley Error of the given kind.
func IsKind(err error, kind string) bool { return ErrorKind(err) == kind }

// statusOf maps error kinds to HTTP statuses: the one table of it, used by
// the JSON API and the web inbox alike.
var statusOf = map[string]int{
	EMALFORMED:       http.StatusBadRequest,
	EUNAUTHENTICATED: http.StatusUnauthorized,
	EFORBIDDEN:       http.StatusForbidden,
	ENOTFOUND:        http.StatusNotFound,
	ECONFLICT:        http.StatusConflict,
	ETOOLARGE:        http.StatusRequestEntityTooLarge,
	EINVALID:         http.StatusUnprocessableEntity,
	ERATELIMITED:     http.StatusTooManyRequests,
	EINTERNAL:        http.StatusInternalServerError,
	EUPSTREAM:        http.StatusBadGateway,
	EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// HTTPStatus is the HTTP status of an error kind; 500 for an unknown one.
func HTTPStatus(kind string) int {
	if s, ok := statusOf[kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}
