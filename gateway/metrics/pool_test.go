package metrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// noConnector is a database that is never reached: a pool's figures need
// no connection.
type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no database")
}
func (noConnector) Driver() driver.Driver { return nil }

// TestWatchDBMatchesClientGolang: the pool's series read from the store's
// figures are the ones client_golang's collector exports from the pool
// itself, names, help, types and values, so dashboards keep working.
func TestWatchDBMatchesClientGolang(t *testing.T) {
	db := sql.OpenDB(noConnector{})
	defer db.Close()
	db.SetMaxOpenConns(7)
	db.SetMaxIdleConns(3)

	ours := prometheus.NewRegistry()
	ours.MustRegister(newPoolCollector("postgres", db.Stats))
	theirs := prometheus.NewRegistry()
	theirs.MustRegister(collectors.NewDBStatsCollector(db, "postgres"))

	want := scrape(theirs)
	if n := strings.Count(want, "# TYPE go_sql_"); n != 9 {
		t.Fatalf("client_golang exports %d go_sql_ series; the test expects 9:\n%s", n, want)
	}
	if got := scrape(ours); got != want {
		t.Errorf("the series differ from client_golang's:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(want, `go_sql_max_open_connections{db_name="postgres"} 7`) {
		t.Errorf("the pool's size is not in the series:\n%s", want)
	}
}

// scrape is what /metrics serves of the registry.
func scrape(reg *prometheus.Registry) string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
