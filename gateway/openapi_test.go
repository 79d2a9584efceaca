package gateway

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

// The tests in this file keep gateway/openapi.json true: every route of
// routes.go documented and nothing documented that is not served, every
// $ref resolvable, and the response schemas in step with the structs the
// handlers encode. When one fails after you added a route, describe the
// route in openapi.json; the failure names what is missing.

// openAPIMethods are the keys of an OpenAPI path item that are operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIOperation is one (method, path) pair: "GET /v1/me".
type openAPIOperation struct {
	Method string // upper case
	Path   string // OpenAPI template: /v1/conversations/{id}
}

func (o openAPIOperation) String() string { return o.Method + " " + o.Path }

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(openAPIDocument))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("gateway/openapi.json is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("gateway/openapi.json has data after its top-level object")
	}
	return doc
}

// documentedOperations returns every operation of the document's paths.
func documentedOperations(t *testing.T, doc map[string]any) map[openAPIOperation]map[string]any {
	t.Helper()
	ops := map[openAPIOperation]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		t.Fatal("the document has no paths object")
	}
	for path, item := range paths {
		item, ok := item.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for _, m := range openAPIMethods {
			if op, ok := item[m].(map[string]any); ok {
				ops[openAPIOperation{strings.ToUpper(m), path}] = op
			}
		}
	}
	return ops
}

// servedOperations walks the router of routes.go. Routes are walked, not
// run, so the dependencies may be empty.
func servedOperations(t *testing.T) map[openAPIOperation]*mux.Route {
	t.Helper()
	router, ok := routes(&Deps{}).(*mux.Router)
	if !ok {
		t.Fatalf("routes returned %T; this test walks a *mux.Router", routes(&Deps{}))
	}
	ops := map[openAPIOperation]*mux.Route{}
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if route.GetHandler() == nil {
			return nil // a subrouter's mount point: its routes are walked too
		}
		tpl, err := route.GetPathTemplate()
		if err != nil {
			t.Errorf("a route has no path template (%v); register routes with a path so they can be documented", err)
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil || len(methods) == 0 {
			t.Errorf("route %s registers no methods; add .Methods(...) so openapi.json can describe it", tpl)
			return nil
		}
		for _, m := range methods {
			ops[openAPIOperation{strings.ToUpper(m), openAPIPath(tpl)}] = route
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the router: %v", err)
	}
	return ops
}

// openAPIPath turns a gorilla/mux template into OpenAPI's: a variable's
// pattern is dropped, "/x/{id:[0-9]+}" becoming "/x/{id}".
func openAPIPath(tpl string) string {
	var b strings.Builder
	depth := 0
	skipping := false
	for _, r := range tpl {
		switch {
		case r == '{':
			depth++
			if depth == 1 {
				b.WriteRune(r)
				continue
			}
		case r == '}':
			depth--
			if depth == 0 {
				skipping = false
				b.WriteRune(r)
				continue
			}
		case r == ':' && depth == 1:
			skipping = true
		}
		if !skipping {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func sortedOperations[V any](ops map[openAPIOperation]V) []openAPIOperation {
	keys := make([]openAPIOperation, 0, len(ops))
	for op := range ops {
		keys = append(keys, op)
	}
	slices.SortFunc(keys, func(a, b openAPIOperation) int { return strings.Compare(a.String(), b.String()) })
	return keys
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	documented := documentedOperations(t, loadOpenAPI(t))
	served := servedOperations(t)
	if len(served) == 0 {
		t.Fatal("walking the router found no routes")
	}
	for _, op := range sortedOperations(served) {
		if _, ok := documented[op]; !ok {
			t.Errorf("%s is served (routes.go) but not documented in gateway/openapi.json", op)
		}
	}
	for _, op := range sortedOperations(documented) {
		if _, ok := served[op]; !ok {
			t.Errorf("%s is documented in gateway/openapi.json but routes.go does not serve it", op)
		}
	}
}

// resolveRef follows a local reference ("#/components/schemas/Error").
func resolveRef(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var node any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		obj, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = obj[tok]; !ok {
			return nil, false
		}
	}
	return node, true
}

// deref returns node with any chain of $refs followed; nil if one dangles.
func deref(doc map[string]any, node any) map[string]any {
	for range 32 {
		obj, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := obj["$ref"].(string)
		if !ok {
			return obj
		}
		if node, ok = resolveRef(doc, ref); !ok {
			return nil
		}
	}
	return nil // a cycle of references
}

// eachRef calls fn with every $ref in node and where it is.
func eachRef(node any, at string, fn func(at, ref string)) {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			fn(at, ref)
		}
		for k, v := range n {
			eachRef(v, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), fn)
		}
	case []any:
		for i, v := range n {
			eachRef(v, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

var pathVariable = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)

	t.Run("header", func(t *testing.T) {
		if doc["openapi"] != "3.0.3" {
			t.Errorf("openapi = %v, want 3.0.3", doc["openapi"])
		}
		info, _ := doc["info"].(map[string]any)
		if info["title"] != "Parley" || info["version"] != "1" {
			t.Errorf("info = %v, want title Parley and version 1", info)
		}
		bearer := deref(doc, map[string]any{"$ref": "#/components/securitySchemes/bearer"})
		if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
			t.Errorf("components.securitySchemes.bearer = %v, want an http bearer scheme", bearer)
		}
		session := deref(doc, map[string]any{"$ref": "#/components/securitySchemes/session"})
		if session["type"] != "apiKey" || session["in"] != "cookie" || session["name"] != "parley_session" {
			t.Errorf("components.securitySchemes.session = %v, want the parley_session cookie", session)
		}
		// Operations without their own security inherit this one: a
		// bearer token, or the web inbox's session cookie.
		if sec, _ := doc["security"].([]any); len(sec) != 2 || deref(doc, sec[0])["bearer"] == nil || deref(doc, sec[1])["session"] == nil {
			t.Errorf("global security = %v, want [{bearer: []}, {session: []}]", doc["security"])
		}
	})

	t.Run("every $ref resolves", func(t *testing.T) {
		eachRef(doc, "#", func(at, ref string) {
			if _, ok := resolveRef(doc, ref); !ok {
				t.Errorf("%s: $ref %q resolves to nothing in the document", at, ref)
			}
		})
	})

	paths, _ := doc["paths"].(map[string]any)
	seenIDs := map[string]openAPIOperation{}
	for _, op := range sortedOperations(documentedOperations(t, doc)) {
		item := paths[op.Path].(map[string]any)
		o := item[strings.ToLower(op.Method)].(map[string]any)
		t.Run(op.String(), func(t *testing.T) {
			id, _ := o["operationId"].(string)
			if id == "" {
				t.Error("no operationId")
			} else if prev, dup := seenIDs[id]; dup {
				t.Errorf("operationId %q is also the id of %s", id, prev)
			}
			seenIDs[id] = op

			responses, _ := o["responses"].(map[string]any)
			has2xx := false
			for status, resp := range responses {
				if strings.HasPrefix(status, "2") {
					has2xx = true
				}
				if !strings.HasPrefix(status, "4") {
					continue
				}
				// Every error answer is the API's Error body.
				r := deref(doc, resp)
				content, _ := r["content"].(map[string]any)
				media, _ := content["application/json"].(map[string]any)
				schema, _ := media["schema"].(map[string]any)
				if ref, _ := schema["$ref"].(string); ref != "#/components/schemas/Error" {
					t.Errorf("response %s: want an application/json body of #/components/schemas/Error", status)
				}
			}
			if !has2xx {
				t.Error("no 2xx response")
			}

			// Path parameters: exactly the template's variables, required.
			params := map[string]bool{}
			for _, list := range []any{item["parameters"], o["parameters"]} {
				list, _ := list.([]any)
				for _, p := range list {
					p := deref(doc, p)
					if p["in"] == "path" {
						if p["required"] != true {
							t.Errorf("path parameter %v must be required", p["name"])
						}
						params[fmt.Sprint(p["name"])] = true
					}
				}
			}
			for _, m := range pathVariable.FindAllStringSubmatch(op.Path, -1) {
				if !params[m[1]] {
					t.Errorf("path parameter {%s} is not documented", m[1])
				}
				delete(params, m[1])
			}
			for name := range params {
				t.Errorf("path parameter %q is not in the path", name)
			}

			// JSON bodies: unknown fields are a 422, so say so. Carrier
			// webhooks are in the carriers' formats, which grow fields.
			if rb := deref(doc, o["requestBody"]); rb != nil && !strings.HasPrefix(op.Path, "/webhooks/") {
				content, _ := rb["content"].(map[string]any)
				if media, ok := content["application/json"].(map[string]any); ok {
					schema := deref(doc, media["schema"])
					if schema["type"] != "object" || schema["additionalProperties"] != false {
						t.Error("the JSON request body schema must be an object with additionalProperties: false")
					}
				}
			}
		})
	}
}

// TestOpenAPISecurity checks that what the document says needs a bearer
// token is what answers 401 without one, and the other way round.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := documentedOperations(t, doc)
	h := NewHandler(Deps{Log: zerolog.Nop()})
	for _, op := range sortedOperations(servedOperations(t)) {
		o, ok := documented[op]
		if !ok {
			continue // TestOpenAPIDocumentsEveryRoute names it
		}
		t.Run(op.String(), func(t *testing.T) {
			sec, set := o["security"].([]any)
			public := set && len(sec) == 0
			path := pathVariable.ReplaceAllStringFunc(op.Path, func(v string) string {
				if v == "{phone}" {
					return url.PathEscape("+15551234567")
				}
				return "1"
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, op.Method, path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch needsAuth := rec.Code == http.StatusUnauthorized; {
			case needsAuth && public:
				t.Errorf("answers 401 without a token, but the document says security: []")
			case !needsAuth && !public:
				t.Errorf("answers %d without a token; document it with security: [] or put it behind authenticate", rec.Code)
			}
		})
	}
}

func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler(Deps{Log: zerolog.Nop()}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d, want 200", rec.Code)
	}
	if mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Error("the body is not the embedded gateway/openapi.json")
	}
}

// TestOpenAPISchemasMatchResponses compares each response schema with the
// struct its handler encodes: the same property names, required exactly
// when never omitted, ids as strings, times as date-times, pointers as
// nullable.
func TestOpenAPISchemasMatchResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, tc := range []struct {
		schema string // a JSON pointer into the document
		value  any    // what the handler encodes
	}{
		{"#/components/schemas/Error", errorBody{}},
		{"#/components/schemas/Error/properties/error", errorDetail{}},
		{"#/components/schemas/User", userJSON{}},
		{"#/components/schemas/Token", tokenJSON{}},
		{"#/components/schemas/ListedToken", listedTokenJSON{}},
		{"#/components/schemas/ListedTokenList", list[listedTokenJSON]{}},
		{"#/components/schemas/Inbox", inboxJSON{}},
		{"#/components/schemas/Channel", channelJSON{}},
		{"#/components/schemas/Settings", settingsJSON{}},
		{"#/components/schemas/Keywords", optout.Keywords{}},
		{"#/components/schemas/Languages", conversations.Languages{}},
		{"#/components/schemas/LanguagePack", conversations.LanguagePack{}},
		{"#/components/schemas/Contact", contactJSON{}},
		{"#/components/schemas/ContactRef", contactRefJSON{}},
		{"#/components/schemas/Conversation", conversationJSON{}},
		{"#/components/schemas/Message", messageJSON{}},
		{"#/components/schemas/Event", eventJSON{}},
		{"#/components/schemas/Notification", notificationJSON{}},
		{"#/components/schemas/WebhookEndpoint", webhookEndpointJSON{}},
		{"#/components/schemas/WebhookDelivery", webhookDeliveryJSON{}},
		{"#/components/schemas/Consent", consentJSON{}},
		{"#/components/schemas/ConsentEvent", consentEventJSON{}},
		{"#/components/schemas/ConversationList", list[conversationJSON]{}},
		{"#/components/schemas/Record", recordJSON{}},
		{"#/components/schemas/RecordRef", recordRefJSON{}},
		{"#/components/schemas/Link", linkJSON{}},
		{"#/components/schemas/Outcome", outcomeJSON{}},
		{"#/components/schemas/Suggestion", suggestionJSON{}},
		{"#/components/schemas/Tag", tagJSON{}},
		{"#/components/schemas/TagRef", tagRefJSON{}},
		{"#/components/schemas/TagList", list[tagJSON]{}},
		{"#/components/schemas/Episode", episodeJSON{}},
		{"#/components/schemas/EpisodeList", list[episodeJSON]{}},
		{"#/components/schemas/RecordList", list[recordJSON]{}},
		{"#/components/schemas/OutcomesReport", outcomesReportJSON{}},
		{"#/components/schemas/OutcomeBucket", outcomeBucketJSON{}},
		{"#/components/schemas/CurrencyAmount", reportMoneyJSON{}},
		{"#/components/schemas/ProjectSource", projectSourceJSON{}},
		{"#/components/schemas/OutboundReport", outboundReportJSON{}},
		{"#/components/schemas/OutboundReport/properties/contact_kinds", contactKindsJSON{}},
		{"#/components/schemas/OutboundOriginCounts", originTypeCountsJSON{}},
		{"#/components/schemas/OutboundCampaignCounts", campaignCountsJSON{}},
		{"#/components/schemas/FunnelStage", funnelStageJSON{}},
		{"#/components/schemas/FinalTagCount", finalTagCountJSON{}},
		{"#/components/schemas/AuditRow", auditRowJSON{}},
		{"#/components/schemas/AuditRowList", list[auditRowJSON]{}},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			node, ok := resolveRef(doc, tc.schema)
			schema := deref(doc, node)
			if !ok || schema == nil {
				t.Fatal("not in the document")
			}
			props, _ := schema["properties"].(map[string]any)
			unmatched := map[string]bool{}
			for name := range props {
				unmatched[name] = true
			}
			required := map[string]bool{}
			list, _ := schema["required"].([]any)
			for _, name := range list {
				required[fmt.Sprint(name)] = true
			}
			typ := reflect.TypeOf(tc.value)
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				omitempty := strings.Contains(opts, "omitempty")
				prop := deref(doc, props[name])
				if prop == nil {
					t.Errorf("%s: the response has it, the schema does not", name)
					continue
				}
				delete(unmatched, name)
				if required[name] == omitempty {
					t.Errorf("%s: required is %v, want %v (omitempty: %v)", name, required[name], !omitempty, omitempty)
				}
				wantType, wantFormat, wantNullable := openAPIType(f.Type)
				if prop["type"] != wantType {
					t.Errorf("%s: type %v, want %s (Go %s)", name, prop["type"], wantType, f.Type)
				}
				if wantFormat != "" && prop["format"] != wantFormat {
					t.Errorf("%s: format %v, want %s", name, prop["format"], wantFormat)
				}
				if wantNullable && !omitempty && prop["nullable"] != true {
					t.Errorf("%s: may be null (Go %s) but is not nullable", name, f.Type)
				}
			}
			for _, name := range slices.Sorted(maps.Keys(unmatched)) {
				t.Errorf("%s: the schema has it, the response never does", name)
			}
		})
	}

	// The auth token goes in, never out.
	channel := deref(doc, map[string]any{"$ref": "#/components/schemas/Channel"})
	if _, ok := channel["properties"].(map[string]any)["auth_token"]; ok {
		t.Error("the Channel schema has auth_token; a channel's auth token is never returned")
	}
}

// openAPIType is the schema type encoding/json gives a Go type.
func openAPIType(typ reflect.Type) (typeName, format string, nullable bool) {
	if typ.Kind() == reflect.Pointer {
		typeName, format, _ = openAPIType(typ.Elem())
		return typeName, format, true
	}
	if typ == reflect.TypeFor[time.Time]() {
		return "string", "date-time", false
	}
	if typ.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return "string", "", false // ids
	}
	switch typ.Kind() {
	case reflect.String:
		return "string", "", false
	case reflect.Bool:
		return "boolean", "", false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", "", false
	case reflect.Float32, reflect.Float64:
		return "number", "", false
	case reflect.Slice, reflect.Array:
		return "array", "", false
	}
	return "object", "", false
}

// TestOpenAPIConversationAndMessageFields holds the Conversation and
// Message schemas to API.md. A field beyond API.md's must be listed as an
// extension here, so that extending the contract is a decision.
func TestOpenAPIConversationAndMessageFields(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, tc := range []struct {
		schema     string
		apiMD      []string // the object as API.md lists it
		extensions []string // served beyond API.md
	}{
		{
			schema: "Conversation",
			apiMD: []string{"id", "inbox_id", "channel_id", "contact", "contact_phone", "business_phone", "status", "priority",
				"assignee_id", "snoozed_until", "opted_out", "last_message_at", "outcomes", "tags", "links_count", "created_at", "updated_at"},
			extensions: []string{"revocation_flagged_at", "revocation_flag", "last_inbound_at", "final_tag"},
		},
		{
			schema: "Message",
			apiMD: []string{"id", "conversation_id", "direction", "kind", "body", "media_urls", "status", "error_code",
				"carrier_message_id", "author_id", "campaign_id", "segments", "created_at"},
			extensions: []string{"encoding", "updated_at", "error_reason"},
		},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			schema := deref(doc, map[string]any{"$ref": "#/components/schemas/" + tc.schema})
			props, _ := schema["properties"].(map[string]any)
			for _, name := range tc.apiMD {
				if _, ok := props[name]; !ok {
					t.Errorf("%s is in API.md's %s but not in the schema", name, tc.schema)
				}
			}
			for name := range props {
				if !slices.Contains(tc.apiMD, name) && !slices.Contains(tc.extensions, name) {
					t.Errorf("%s is not a field of API.md's %s; add it to API.md or to this test's extensions", name, tc.schema)
				}
			}
		})
	}

	// The enumerations API.md spells out.
	for ptr, want := range map[string][]string{
		"#/components/schemas/ConversationStatus":           {"new", "open", "pending", "snoozed", "resolved", "closed"},
		"#/components/schemas/Priority":                     {"none", "low", "medium", "high", "urgent"},
		"#/components/schemas/Message/properties/direction": {"inbound", "outbound"},
		"#/components/schemas/Message/properties/kind":      {"text", "note", "event"},
		"#/components/schemas/TagType":                      {"positive", "negative", "follow_up", "self_management_end", "sale", "other"},
	} {
		node, _ := resolveRef(doc, ptr)
		var got []string
		enum, _ := deref(doc, node)["enum"].([]any)
		for _, v := range enum {
			got = append(got, fmt.Sprint(v))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: enum %v, want API.md's %v", ptr, got, want)
		}
	}
	contact := deref(doc, map[string]any{"$ref": "#/components/schemas/Conversation/properties/contact"})
	props, _ := contact["properties"].(map[string]any)
	if len(props) != 2 || props["id"] == nil || props["name"] == nil {
		t.Errorf("Conversation.contact has %v, want API.md's {id, name}", props)
	}
}

// TestOpenAPIDocumentPassesTheValidator loads the document with
// kin-openapi and validates it: the OpenAPI 3 rules the hand-written
// checks above do not cover, and every example against its schema.
func TestOpenAPIDocumentPassesTheValidator(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("kin-openapi cannot load gateway/openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("gateway/openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
}

// OpenAPI 3.0.3 applies nullable only beside a type in the same schema,
// and a strict validator checks each allOf member on its own: a nullable
// field written as allOf of a $ref, or without a type, refuses the nulls
// Parley sends; so does a nullable enum without null. Every nullable
// schema says its type, refers to nothing, and lists null among its
// values.
func TestOpenAPINullablesHoldTheirType(t *testing.T) {
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if v["nullable"] == true {
				_, typed := v["type"]
				_, ref := v["$ref"]
				_, all := v["allOf"]
				_, one := v["oneOf"]
				_, anyOf := v["anyOf"]
				if !typed || ref || all || one || anyOf {
					t.Errorf("%s: nullable needs a type of its own and no $ref, allOf, oneOf or anyOf, or null is refused", at)
				}
				if enum, ok := v["enum"].([]any); ok && !slices.Contains(enum, nil) {
					t.Errorf("%s: a nullable enum must list null, or null is refused", at)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k], at+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(loadOpenAPI(t), "#")
}
