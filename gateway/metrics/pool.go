package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports a connection pool's figures under the series names
// and help of client_golang's collectors.NewDBStatsCollector. That one
// wants the *sql.DB itself; the store lends only its figures (PoolStats),
// so the collector is written here over them.
type poolCollector struct {
	stats   PoolStats
	figures []poolFigure
}

// poolFigure is one series: its description, kind and value.
type poolFigure struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(sql.DBStats) float64
}

func newPoolCollector(dbName string, stats PoolStats) *poolCollector {
	labels := prometheus.Labels{"db_name": dbName}
	figure := func(name, help string, kind prometheus.ValueType, value func(sql.DBStats) float64) poolFigure {
		return poolFigure{desc: prometheus.NewDesc("go_sql_"+name, help, nil, labels), kind: kind, value: value}
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{stats: stats, figures: []poolFigure{
		figure("max_open_connections", "Maximum number of open connections to the database.", gauge,
			func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		figure("open_connections", "The number of established connections both in use and idle.", gauge,
			func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		figure("in_use_connections", "The number of connections currently in use.", gauge,
			func(s sql.DBStats) float64 { return float64(s.InUse) }),
		figure("idle_connections", "The number of idle connections.", gauge,
			func(s sql.DBStats) float64 { return float64(s.Idle) }),
		figure("wait_count_total", "The total number of connections waited for.", counter,
			func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		figure("wait_duration_seconds_total", "The total time blocked waiting for a new connection.", counter,
			func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
		figure("max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns.", counter,
			func(s sql.DBStats) float64 { return float64(s.MaxIdleClosed) }),
		figure("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime.", counter,
			func(s sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }),
		figure("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime.", counter,
			func(s sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }),
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.figures {
		ch <- f.desc
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for _, f := range c.figures {
		ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(s))
	}
}
