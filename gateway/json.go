package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// maxJSONBody bounds API request bodies.
const maxJSONBody = 1 << 20

// decode reads one JSON object into v. Malformed JSON is 400, a body over
// 1 MiB 413, an unknown field or a value of the wrong type 422 naming the
// field: a typo must never be silently ignored.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return decodeError(err)
	}
	return decodeBody(body, v)
}

// decodeWithKeys is decode that also reports which top-level keys were
// present (lowercased), for fields where null and absent differ
// ("assignee_id": null unassigns; a missing assignee_id is a mistake).
func decodeWithKeys(w http.ResponseWriter, r *http.Request, v any) (map[string]bool, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return nil, decodeError(err)
	}
	if err := decodeBody(body, v); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, decodeError(err)
	}
	keys := make(map[string]bool, len(raw))
	for k := range raw {
		keys[strings.ToLower(k)] = true // as encoding/json matches fields
	}
	return keys, nil
}

// decodeBody decodes a request body already read, as decode says.
func decodeBody(body []byte, v any) error {
	if err := refuseNUL(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := unknownField(err); ok {
			return parley.Invalid(map[string]string{unknownFieldPath(body, reflect.TypeOf(v), name): "unknown field"})
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err)
		}
		return parley.Errorf(parley.EMALFORMED, "the body must hold exactly one JSON object")
	}
	return nil
}

// refuseNUL names the top-level field of a JSON body whose strings (keys
// or values, however deep) hold a NUL character: PostgreSQL refuses NUL
// in text, SQLite would keep it, and no field of the API means one.
// Bodies without a \u0000 escape are not walked.
func refuseNUL(body []byte) error {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return nil // the decoder says what is wrong with it
	}
	fields, ok := doc.(map[string]any)
	if !ok {
		if holdsNUL(doc) {
			return nulIn("body")
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if strings.ContainsRune(k, 0) || holdsNUL(fields[k]) {
			return nulIn(k)
		}
	}
	return nil
}

// nulIn is the refusal of a field or parameter named name that holds NUL
// (in its name too, which the error names without it).
func nulIn(name string) error {
	return parley.Invalid(map[string]string{strings.ReplaceAll(name, "\x00", ""): "must not contain NUL characters"})
}

// refuseNULQuery names a query parameter that holds a NUL character, as
// refuseNUL does a body's field: no filter means one, and PostgreSQL
// refuses it where SQLite would compare.
func refuseNULQuery(r *http.Request) error {
	if !strings.Contains(r.URL.RawQuery, "%00") {
		return nil
	}
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if strings.ContainsRune(k, 0) || slices.ContainsFunc(q[k], func(v string) bool { return strings.ContainsRune(v, 0) }) {
			return nulIn(k)
		}
	}
	return nil
}

// holdsNUL reports whether a decoded JSON value has a string, as a key or
// a value, with a NUL character in it.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		return slices.ContainsFunc(v, holdsNUL)
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}

func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return parley.Errorf(parley.ETOOLARGE, "the body is larger than %d bytes", maxJSONBody)
	case errors.Is(err, io.EOF):
		return parley.Errorf(parley.EMALFORMED, "the body is empty; a JSON object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return parley.Errorf(parley.EMALFORMED, "malformed JSON: %v", err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return parley.Errorf(parley.EMALFORMED, "the body must be a JSON object")
		}
		if typ.Type == reflect.TypeFor[parley.ID]() {
			return parley.Invalid(map[string]string{field: "must be an id (a string of digits)"})
		}
		return parley.Invalid(map[string]string{field: fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))})
	}
	if field, ok := unknownField(err); ok {
		return parley.Invalid(map[string]string{field: "unknown field"})
	}
	// Errors from UnmarshalText (an id, a time) name no field.
	var pe *parley.Error
	if errors.As(err, &pe) {
		if len(pe.Fields) > 0 {
			return pe // an UnmarshalJSON that names its fields
		}
		return parley.Invalid(map[string]string{"body": pe.Message})
	}
	return parley.Errorf(parley.EMALFORMED, "malformed JSON: %v", err)
}

// unknownField is the key a decoder with DisallowUnknownFields refused,
// as the body spells it; encoding/json says it only in its message.
func unknownField(err error) (string, bool) {
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	return strings.Trim(name, `"`), true
}

// unknownFieldPath names the unknown field the decoder refused by its
// path in body ("audience.filter.typ", "entries[2].conditions.typ"),
// where encoding/json gives the key alone: the first key spelled name,
// in the body's order as the decoder reads it, that t (the type decoded
// into) has no field for where it stands. The key alone when there is
// none, say when a custom UnmarshalJSON refused it.
func unknownFieldPath(body []byte, t reflect.Type, name string) string {
	if path, ok := findUnknownKey(json.NewDecoder(bytes.NewReader(body)), t, "", name); ok {
		return path
	}
	return name
}

// findUnknownKey reads one value from dec, and says the path of the first
// key spelled name in it that t does not decode. A nil t (an interface,
// a key already unknown) takes anything.
func findUnknownKey(dec *json.Decoder, t reflect.Type, path, name string) (string, bool) {
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", false
			}
			key, _ := tok.(string)
			var elem reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				f, ok := jsonField(t, key)
				if !ok && key == name {
					return joinPath(path, key), true
				}
				elem = f
			case t.Kind() == reflect.Map:
				elem = t.Elem()
			}
			if p, ok := findUnknownKey(dec, elem, joinPath(path, key), name); ok {
				return p, true
			}
		}
		_, _ = dec.Token() // }
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, ok := findUnknownKey(dec, elem, fmt.Sprintf("%s[%d]", path, i), name); ok {
				return p, true
			}
		}
		_, _ = dec.Token() // ]
	}
	return "", false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonField is the type of struct t's field that decodes key, as
// encoding/json matches them: by tag or name, exactly or else ignoring
// case, embedded structs' fields promoted.
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	fields := map[string]reflect.Type{}
	jsonFields(t, fields)
	if f, ok := fields[key]; ok {
		return f, true
	}
	for n, f := range fields {
		if strings.EqualFold(n, key) {
			return f, true
		}
	}
	return nil, false
}

// jsonFields adds struct t's JSON field names and types to into; an
// outer field hides an embedded struct's field of the same name.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			embedded = append(embedded, ft)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := into[name]; !ok {
			into[name] = f.Type
		}
	}
	for _, e := range embedded {
		jsonFields(e, into)
	}
}

// optionalTime reads an optional RFC 3339 time field: a time.Time field
// would fail the whole body with the parser's words and no field named.
func optionalTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	at, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, parley.Invalid(map[string]string{field: "must be an RFC 3339 time, e.g. 2026-01-05T10:00:00Z"})
	}
	return &at, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "ptr":
		return "a value of the documented type"
	}
	return "a number"
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// list is the API's list envelope.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// writePage answers with a page of items converted to their JSON form.
func writePage[T, J any](w http.ResponseWriter, items []T, next string, toJSON func(T) J) {
	out := make([]J, len(items))
	for i, it := range items {
		out[i] = toJSON(it)
	}
	writeJSON(w, http.StatusOK, newList(out, next))
}

// writePageOf writes a page of a whole list the store read: the lists of
// one conversation, or an account's tags, are short, so they are paged
// here, by keyset over key (unique; the list is put in its order), with
// the ?limit and ?cursor every list takes.
func writePageOf[T, J any](w http.ResponseWriter, r *http.Request, items []T, key func(T) string, toJSON func(T) J) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	start := 0
	if page.Cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || !endsWithIDKey(after) {
			return parley.Invalid(map[string]string{"cursor": "is not a cursor this list returned"})
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	end := min(start+page.Limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	writePage(w, items[start:end], next, toJSON)
	return nil
}

// idKey orders by id in writePageOf; every list's key ends with one.
func idKey(id parley.ID) string { return fmt.Sprintf("%020d", int64(id)) }

// endsWithIDKey tells a key writePageOf made from bytes it did not.
func endsWithIDKey(key []byte) bool {
	if len(key) < 20 {
		return false
	}
	return !slices.ContainsFunc(key[len(key)-20:], func(b byte) bool { return b < '0' || b > '9' })
}

func newList[T any](data []T, next string) list[T] {
	if data == nil {
		data = []T{}
	}
	l := list[T]{Data: data}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}
