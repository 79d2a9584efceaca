// Package parley holds the few types every Parley package shares: opaque
// identifiers, the error kinds that adapters map to HTTP statuses, and the
// clock that lets tests control time.
//
// Domain packages (conversations, optout, routing, campaigns) build on it;
// adapters (store, gateway) translate their own errors into its kinds.
package parley

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"
)

// ID identifies a row. It is an integer inside the database and an opaque
// decimal string on the wire, so clients never do arithmetic on it.
type ID int64

// String returns the wire form of the id.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// MarshalText makes encoding/json write ids as strings.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText accepts the wire form; anything else is an invalid id.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the wire form of an id. A malformed id is reported as
// ENOTFOUND: to a client it names nothing that exists.
func ParseID(s string) (ID, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, Errorf(ENOTFOUND, "no such id %q", s)
	}
	return ID(v), nil
}

// Clock tells the time. Production uses SystemClock; tests inject their own
// so that snoozes, schedules and quiet hours can be driven deterministically.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC and truncated to milliseconds — the
// precision both databases store.
type SystemClock struct{}

// Now returns the current UTC time at millisecond precision.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// FixedClock is a settable clock for tests.
type FixedClock struct{ T time.Time }

// Now returns the clock's time.
func (c *FixedClock) Now() time.Time { return c.T }

// Advance moves the clock forward.
func (c *FixedClock) Advance(d time.Duration) { c.T = c.T.Add(d) }

// UnmarshalJSON accepts an id in its wire form, a JSON string of digits.
// Anything else — a JSON number included: ids are opaque strings — is
// reported as a type error so that the JSON decoder names the field.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return &json.UnmarshalTypeError{Value: "value " + s, Type: reflect.TypeFor[ID]()}
	}
	v, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	if err != nil || v <= 0 {
		return &json.UnmarshalTypeError{Value: "value " + s, Type: reflect.TypeFor[ID]()}
	}
	*id = ID(v)
	return nil
}

// Page is a keyset page request: at most Limit rows after the row the
// Cursor names. Cursors are opaque to clients; the store encodes the last
// row's sort key in them, so pages stay stable while rows are inserted.
type Page struct {
	Limit  int
	Cursor string
}

// Page limits of the API.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Normalize applies the default and maximum limits.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageLimit
	}
	if p.Limit > MaxPageLimit {
		p.Limit = MaxPageLimit
	}
	return p
}

// All reads every page of a keyset-paged list: fetch is called with the
// largest page, then with each next cursor until one comes back empty.
// The rows read before an error are returned with it.
func All[T any](fetch func(Page) ([]T, string, error)) ([]T, error) {
	var out []T
	p := Page{Limit: MaxPageLimit}
	for {
		items, next, err := fetch(p)
		out = append(out, items...)
		if err != nil || next == "" {
			return out, err
		}
		p.Cursor = next
	}
}
