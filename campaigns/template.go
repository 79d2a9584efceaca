package campaigns

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// A Template is a campaign body with fields: {{first_name}}, {{last_name}},
// {{name}}, {{phone}} and {{attributes.KEY}} (a contact attribute), each
// with an optional fallback for contacts that lack the value:
// "Hi {{first_name|there}}". Spaces around the field and the fallback are
// ignored. Parley parses it itself: the syntax is this
// small on purpose (no logic, no HTML escaping — it is an SMS), and
// text/template's would neither report unknown fields at creation nor
// offer a fallback.
type Template struct {
	parts []templatePart
}

type templatePart struct {
	text     string // literal text, when field is ""
	field    string
	fallback string
}

var fieldPattern = regexp.MustCompile(`\{\{\s*([^{}|]*?)\s*(?:\|([^{}]*))?\}\}`)

var knownFields = map[string]bool{"first_name": true, "last_name": true, "name": true, "phone": true}

// ParseTemplate parses a body; an unknown field or a malformed one is an
// EINVALID error on "body".
func ParseTemplate(body string) (Template, error) {
	var t Template
	last := 0
	for _, m := range fieldPattern.FindAllStringSubmatchIndex(body, -1) {
		t.parts = append(t.parts, templatePart{text: body[last:m[0]]})
		field := body[m[2]:m[3]]
		if !knownFields[field] && !validAttribute(field) {
			return Template{}, parley.Invalid(map[string]string{"body": fmt.Sprintf(
				"unknown field {{%s}}: use first_name, last_name, name, phone or attributes.KEY", field)})
		}
		p := templatePart{field: field}
		if m[4] >= 0 {
			// Spaces around the fallback are layout, as around the field:
			// {{ first_name | there }} falls back to "there".
			p.fallback = strings.TrimSpace(body[m[4]:m[5]])
		}
		t.parts = append(t.parts, p)
		last = m[1]
	}
	rest := body[last:]
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return Template{}, parley.Invalid(map[string]string{"body": "a {{ without its }} (or the reverse)"})
	}
	t.parts = append(t.parts, templatePart{text: rest})
	return t, nil
}

// fieldsProblem is what ParseTemplate finds wrong with a body's fields,
// in its words on "body"; "" when the body parses.
func fieldsProblem(body string) string {
	_, err := ParseTemplate(body)
	var e *parley.Error
	if errors.As(err, &e) {
		return e.Fields["body"]
	}
	return ""
}

func validAttribute(field string) bool {
	key, ok := strings.CutPrefix(field, "attributes.")
	return ok && key != "" && !strings.ContainsAny(key, " \t\n")
}

// Recipient is what a template is rendered for.
type Recipient struct {
	Name       string
	Phone      string
	Attributes map[string]any
}

// Render fills the template for one recipient.
func (t Template) Render(r Recipient) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.text)
			continue
		}
		v := r.value(p.field)
		if v == "" {
			v = p.fallback
		}
		b.WriteString(v)
	}
	return b.String()
}

func (r Recipient) value(field string) string {
	first, last, _ := strings.Cut(strings.TrimSpace(r.Name), " ")
	switch field {
	case "name":
		return strings.TrimSpace(r.Name)
	case "first_name":
		return first
	case "last_name":
		return strings.TrimSpace(last)
	case "phone":
		return r.Phone
	}
	key := strings.TrimPrefix(field, "attributes.")
	switch v := r.Attributes[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
