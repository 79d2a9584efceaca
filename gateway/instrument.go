package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// Metrics is what the HTTP edge reports (metrics.Metrics implements it).
type Metrics interface {
	ObserveRequest(route, method string, code int, took time.Duration)
	ObserveWebhook(carrier, kind, outcome string, took time.Duration)
}

type noMetrics struct{}

func (noMetrics) ObserveRequest(string, string, int, time.Duration)    {}
func (noMetrics) ObserveWebhook(string, string, string, time.Duration) {}

// webhookRoute names a carrier webhook's carrier and kind for metrics.
type webhookRoute struct{ carrier, kind string }

var webhookRoutes = map[string]webhookRoute{
	"/webhooks/twilio/messages": {"twilio", "inbound"},
	"/webhooks/twilio/status":   {"twilio", "status"},
}

type outcomeKey struct{}

// noteOutcome lets a webhook handler name an outcome its status code does
// not tell, such as a duplicate delivery answered 200.
func noteOutcome(r *http.Request, outcome string) {
	if p, ok := r.Context().Value(outcomeKey{}).(*string); ok {
		*p = outcome
	}
}

// instrument times every routed request by its route template (never the
// raw path: ids would make a series per conversation), and carrier
// webhooks by carrier, kind and outcome.
func instrument(m Metrics) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			route := "unknown"
			if cur := mux.CurrentRoute(r); cur != nil {
				if tpl, err := cur.GetPathTemplate(); err == nil {
					route = tpl
				} else if name := cur.GetName(); name != "" {
					route = name // the web inbox's pages, one series
				}
			}
			var outcome string
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), outcomeKey{}, &outcome)))
			took := time.Since(start)
			m.ObserveRequest(route, r.Method, rec.status, took)
			if wh, ok := webhookRoutes[route]; ok {
				if outcome == "" {
					outcome = webhookOutcome(rec.status)
				}
				m.ObserveWebhook(wh.carrier, wh.kind, outcome, took)
			}
		})
	}
}

// webhookOutcome names a webhook's outcome from its answer.
func webhookOutcome(status int) string {
	switch {
	case status < 300:
		return "accepted"
	case status == http.StatusNotFound:
		return "unknown_channel"
	case status == http.StatusForbidden:
		return "bad_signature"
	case status < 500:
		return "invalid"
	}
	return "error"
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the real writer (flushing, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
