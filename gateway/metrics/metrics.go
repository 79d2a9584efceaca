// Package metrics is Parley's Prometheus instrumentation, on
// prometheus/client_golang: one registry holding the HTTP and webhook
// latencies, the outbox's depth and send latencies, dispatch errors by
// carrier code, auto-assignment latency and the database pool's figures,
// served at /metrics. Domain packages do not import it: they report through
// small hooks that cmd/parley connects to a *Metrics. Every method is a
// no-op on a nil *Metrics, so a part run without metrics needs no checks.
//
// No metric carries an account, user or phone label: the series stay few
// whatever the traffic, and /metrics tells nothing about any tenant.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds Parley's collectors.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	webhooks   *prometheus.HistogramVec
	sends      *prometheus.HistogramVec
	sendErrors *prometheus.CounterVec
	assign     *prometheus.HistogramVec
}

// Latency buckets from half a millisecond to ten seconds: webhooks and
// list pages answer in milliseconds, carrier calls in tens to hundreds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns a registry with Parley's metrics and the Go runtime's and
// process's own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Buckets: latencyBuckets,
			Help: "HTTP requests by route template, method and status code, from the first byte read to the answer written.",
		}, []string{"route", "method", "code"}),
		webhooks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_webhook_duration_seconds", Buckets: latencyBuckets,
			Help: "Carrier webhooks by carrier, kind (inbound, status) and outcome (accepted, duplicate, unknown_channel, bad_signature, invalid, error).",
		}, []string{"carrier", "kind", "outcome"}),
		sends: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_outbox_send_duration_seconds", Buckets: latencyBuckets,
			Help: "Outbound texts handed to a carrier by carrier and outcome (sent, retry, failed, held, reconciled), timing the carrier call.",
		}, []string{"carrier", "outcome"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_outbox_send_errors_total",
			Help: "Carrier refusals and failures of outbound texts by carrier and carrier error code (0: none given, e.g. a timeout).",
		}, []string{"carrier", "code"}),
		assign: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_autoassign_duration_seconds", Buckets: latencyBuckets,
			Help: "Auto-assignment decisions by outcome (assigned, waiting), from dequeue to commit.",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.webhooks, m.sends, m.sendErrors, m.assign,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Observe(took.Seconds())
}

// ObserveWebhook records one carrier webhook.
func (m *Metrics) ObserveWebhook(carrier, kind, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(carrier, kind, outcome).Observe(took.Seconds())
}

// ObserveSend records one attempt to hand a text to a carrier; code is
// the carrier's error code when it refused or failed it.
func (m *Metrics) ObserveSend(carrier, outcome string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.sends.WithLabelValues(carrier, outcome).Observe(took.Seconds())
	if outcome == "failed" || outcome == "retry" {
		m.sendErrors.WithLabelValues(carrier, strconv.Itoa(code)).Inc()
	}
}

// ObserveAssignment records one auto-assignment decision.
func (m *Metrics) ObserveAssignment(assigned bool, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "waiting"
	if assigned {
		outcome = "assigned"
	}
	m.assign.WithLabelValues(outcome).Observe(took.Seconds())
}

// PoolStats reads a database connection pool's figures.
type PoolStats func() sql.DBStats

// WatchDB exports the connection pool's figures (open, in use, idle,
// waits and their total time, …) as go_sql_* series labelled
// db_name=name, read at each scrape.
func (m *Metrics) WatchDB(name string, stats PoolStats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(newPoolCollector(name, stats))
}

// OutboxDepth counts the outbox's texts by state (queued, sending).
type OutboxDepth func(ctx context.Context) (map[string]int, error)

// WatchOutbox exports parley_outbox_depth{state}, read from the database
// at each scrape (the outbox holds only texts not yet sent: a short count).
func (m *Metrics) WatchOutbox(depth OutboxDepth) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&outboxCollector{depth: depth, desc: prometheus.NewDesc("parley_outbox_depth",
		"Outbound texts waiting in the outbox by state: queued (waiting for their time or a dispatcher) and sending (claimed).",
		[]string{"state"}, nil)})
}

type outboxCollector struct {
	depth OutboxDepth
	desc  *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, state := range []string{"queued", "sending"} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[state]), state)
	}
}
