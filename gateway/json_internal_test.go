package gateway

import (
	"errors"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
)

// TestDecodeNamesUnknownFieldsByPath: an unknown key is named by its path
// from the body's root, however deep it is (encoding/json names the key
// alone), so that a client sees which of its objects holds the typo.
func TestDecodeNamesUnknownFieldsByPath(t *testing.T) {
	type embedded struct {
		Typ string `json:"typ"`
	}
	type body struct {
		embedded
		Name     string             `json:"name"`
		Audience campaigns.Audience `json:"audience"`
		Items    []struct {
			Tags map[string]struct {
				Colour string `json:"colour"`
			} `json:"tags"`
		} `json:"items"`
		Any any `json:"any"`
	}
	tests := []struct {
		name, body, field string
	}{
		{"at the root", `{"name":"x","nmae":"y"}`, "nmae"},
		{"in a nested object", `{"audience":{"filter":{"typ":"lead"}}}`, "audience.filter.typ"},
		{"beside known keys, any case", `{"AUDIENCE":{"Filter":{"contact_type":"lead","typ":"x"}}}`, "AUDIENCE.Filter.typ"},
		{"in an array's element", `{"items":[{"tags":{}},{"tags":{"a":{"colour":"red"},"b":{"color":"red"}}}]}`, "items[1].tags.b.color"},
		{"the same key known before", `{"any":{"typ":1},"audience":{"typ":1}}`, "audience.typ"},
		{"the same key known from an embedded struct", `{"Typ":"n","audience":{"phones":[],"filter":{"attributes":{"typ":1},"typ":2}}}`, "audience.filter.typ"},
		{"in routing conditions (their own UnmarshalJSON)", `{"entries":[{"conditions":{}},{"conditions":{"type":"lead","typ":"x"}}]}`, "entries[1].conditions.typ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.field == "entries[1].conditions.typ" {
				var in routingTableInput
				err = decodeBody([]byte(tt.body), &in)
			} else {
				var in body
				err = decodeBody([]byte(tt.body), &in)
			}
			var e *parley.Error
			if !errors.As(err, &e) || e.Kind != parley.EINVALID || len(e.Fields) != 1 || e.Fields[tt.field] != "unknown field" {
				t.Errorf("decodeBody(%s) = %v (fields %v); want %q as an unknown field", tt.body, err, fieldsOf(e), tt.field)
			}
		})
	}
}

func fieldsOf(e *parley.Error) map[string]string {
	if e == nil {
		return nil
	}
	return e.Fields
}
