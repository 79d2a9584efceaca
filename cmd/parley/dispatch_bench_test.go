package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/storetest"
)

// BenchmarkCampaignDispatch measures the outbound path end to end through
// the real program: a campaign to b.N phones at the maximum rate (1000/s),
// timed from start until the fake carrier holds every text. It reports
// texts per second. The campaign's rate, not the dispatcher, caps it above
// 1000/s; below, the figure is the outbox and the carrier round trip.
func BenchmarkCampaignDispatch(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			e := boot(b, storetest.URL(b, dialect), func(c *Config, fc *twiliotestConfig) { c.LogLevel = "warn" })
			ch := e.setupChannel(nil)
			phones := make([]string, b.N)
			for i := range phones {
				phones[i] = fmt.Sprintf("+1628%07d", 2000000+i)
			}
			c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "bench", "channel_id": ch["id"], "body": "Hello",
				"rate_per_second": 1000, "audience": map[string]any{"phones": phones}}))
			b.ResetTimer()
			start := time.Now()
			e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
			deadline := time.Now().Add(10 * time.Minute)
			for len(e.carrier.Messages()) < b.N {
				if time.Now().After(deadline) {
					b.Fatalf("only %d of %d texts reached the carrier", len(e.carrier.Messages()), b.N)
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "texts/s")
		})
	}
}
