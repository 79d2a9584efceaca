package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/storetest"
)

// TestStatusesSettleWithoutCallbacks: Twilio accepts every text of a
// campaign but its status callbacks never reach Parley. The campaign
// completes with nothing queued, its texts counted as sent; an hour after
// sending, Parley looks them up at the carrier and they read delivered.
func TestStatusesSettleWithoutCallbacks(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			clock := &testClock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
			e := boot(t, storetest.URL(t, dialect), withClock(clock), func(c *Config, fc *twiliotestConfig) {
				c.statusChecks = 5 // fewer than the texts: the rest wait for the next second
				fc.DropStatusCallbacks = true
			})
			ch := e.setupChannel(nil)
			phones := make([]string, 12)
			for i := range phones {
				phones[i] = fmt.Sprintf("+1628%07d", 7000000+i)
			}
			e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": phones[0]}))
			c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "No receipts", "channel_id": ch["id"],
				"body": "Hello from Parley", "rate_per_second": 50, "audience": map[string]any{"phones": phones}}))
			id := c["id"].(string)
			e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
			// Parley's clock moves on a tick at a time until the campaign is done.
			e.eventually("the campaign completed", func() bool {
				clock.Advance(250 * time.Millisecond)
				return e.campaign(id)["status"] == "completed"
			})
			e.eventually("the carrier delivered every text", func() bool {
				delivered := 0
				for _, m := range e.carrier.Messages() {
					if m.Status == "delivered" {
						delivered++
					}
				}
				return delivered == len(phones)-1
			})
			want := map[string]int{"recipients": 12, "queued": 0, "sent": 11, "delivered": 0, "failed": 0, "skipped_opted_out": 1, "cancelled": 0}
			if got := counts(e.campaign(id)); !equalCounts(got, want) {
				t.Fatalf("completed without receipts: counts %v, want %v", got, want)
			}

			// Not yet an hour: nobody asks.
			clock.Advance(59 * time.Minute)
			time.Sleep(1500 * time.Millisecond)
			if got := counts(e.campaign(id)); !equalCounts(got, want) {
				t.Fatalf("before the hour: counts %v, want %v", got, want)
			}
			clock.Advance(time.Minute)
			want["sent"], want["delivered"] = 0, 11
			e.eventually("the looked-up statuses", func() bool { return equalCounts(counts(e.campaign(id)), want) })
			recips := e.must(200, e.admin("GET", "/v1/campaigns/"+id+"/recipients?status=delivered", nil))["data"].([]any)
			if len(recips) != 11 {
				t.Errorf("%d recipients read delivered, want 11", len(recips))
			}
		})
	}
}

func equalCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
