package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The end-to-end tests hold gateway/openapi.json to what the real server
// answers: every API call of the harness goes through openAPIChecker,
// which fails the calling test when an answer (status, headers, body) is
// not what the document says for its route.

// openAPI is gateway/openapi.json loaded and routed once per test binary.
var openAPI = sync.OnceValues(func() (*openAPIDoc, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "gateway", "openapi.json"))
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	closeObjects(doc)
	// TwiML answers are checked as strings, like any body kin-openapi
	// cannot parse.
	openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &openAPIDoc{doc: doc, router: router}, nil
})

// closeObjects makes every object schema that lists its properties and
// says nothing of others refuse them, here in the tests only: a field the
// server sends must be documented. (Clients may still meet fields added
// later, so the published document does not say so.)
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(ref *openapi3.SchemaRef)
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			visit(p)
		}
		visit(s.Items)
		visit(s.AdditionalProperties.Schema)
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, sub := range list {
				visit(sub)
			}
		}
	}
	for _, ref := range doc.Components.Schemas {
		visit(ref)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, res := range op.Responses.Map() {
				if res.Value == nil {
					continue
				}
				for _, media := range res.Value.Content {
					visit(media.Schema)
				}
			}
		}
	}
}

type openAPIDoc struct {
	doc    *openapi3.T
	router routers.Router
}

// openAPIChecker is an http.RoundTripper that checks every answer against
// gateway/openapi.json, reporting a mismatch as a failure of t.
type openAPIChecker struct {
	t    testing.TB
	next http.RoundTripper
}

// checkedClient returns an HTTP client whose answers are checked against
// gateway/openapi.json on behalf of t.
func checkedClient(t testing.TB) *http.Client {
	return &http.Client{Transport: &openAPIChecker{t: t, next: http.DefaultTransport}}
}

// carrierClient is the fake carrier's client for webhooks to Parley, so
// that their answers are checked too.
func carrierClient(t testing.TB) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &openAPIChecker{t: t, next: carrierTransport(t)}}
}

// carrierTransport is tuned for concurrency as the carrier's own default
// is. A benchmark's carrier uses it unchecked: validating every receipt's
// answer against the document cost the dispatch benchmark's process a
// twentieth of its CPU, which is neither Parley's nor the carrier's.
func carrierTransport(t testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = 512, 512, 512
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func (c *openAPIChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkAnswer(req, res, body); err != nil {
		c.t.Errorf("%s %s answered %d against gateway/openapi.json: %v\nbody: %s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

// checkAnswer validates one answer. A request to no documented operation
// must be answered with the API's 404 or 405 error.
func checkAnswer(req *http.Request, res *http.Response, body []byte) error {
	api, err := openAPI()
	if err != nil {
		return fmt.Errorf("load the document: %w", err)
	}
	route, params, err := api.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return checkUnrouted(api.doc, res, body)
	}
	if err != nil {
		return err
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		},
	}
	input.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), input)
}

// checkUnrouted accepts the answer to an undocumented path or method only
// when it is the API's 404 or 405 error.
func checkUnrouted(doc *openapi3.T, res *http.Response, body []byte) error {
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		return fmt.Errorf("no operation of the document matches, yet it answered %d", res.StatusCode)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the %d answer is not JSON: %w", res.StatusCode, err)
	}
	return doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors())
}

// TestOpenAPICheckerCatchesMismatches holds the checker itself to account:
// each answer here contradicts the document.
func TestOpenAPICheckerCatchesMismatches(t *testing.T) {
	for _, tt := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"a field of the wrong type", "GET", "/v1/me", 200, `{"id": 5}`},
		{"an undocumented field", "GET", "/healthz", 200, `{"status": "ok", "uptime": 5}`},
		{"an undocumented status", "GET", "/v1/me", 418, `{"error": {"code": "teapot", "message": "no"}}`},
		{"an error body not the API's", "GET", "/v1/conversations/1", 404, `{"message": "not found"}`},
		{"an undocumented route answered", "GET", "/v1/secret", 200, `{}`},
		{"an undocumented method answered", "DELETE", "/v1/me", 204, ``},
	} {
		req := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		res := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {"application/json"}}}
		if err := checkAnswer(req, res, []byte(tt.body)); err == nil {
			t.Errorf("%s: %s %s answered %d %s passed the check", tt.name, tt.method, tt.path, tt.status, tt.body)
		}
	}
	req := httptest.NewRequest("GET", "http://127.0.0.1/healthz", nil)
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}}
	if err := checkAnswer(req, res, []byte(`{"status": "ok"}`)); err != nil {
		t.Errorf("a documented answer failed the check: %v", err)
	}
	req = httptest.NewRequest("GET", "http://127.0.0.1/v1/secret", nil)
	res = &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {"application/json"}}}
	if err := checkAnswer(req, res, []byte(`{"error": {"code": "not_found", "message": "no such route"}}`)); err != nil {
		t.Errorf("the API's 404 to an undocumented route failed the check: %v", err)
	}
}
