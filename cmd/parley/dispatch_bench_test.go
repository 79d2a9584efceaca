package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/store/storetest"
)

// BenchmarkCampaignDispatch measures the outbound path end to end through
// the real program: PARLEY_BENCH_CAMPAIGNS campaigns (4 unless set), each
// on its own number at 1,000 texts a second, to b.N phones between
// them, timed from their start until the fake carrier holds every text.
// It reports texts per second; the campaigns' rates cap it at 1,000/s
// each (the maximum until it was raised; kept so its history compares).
// Before the campaign it measures the fake carrier's own ceiling in the
// same process (carrier-texts/s: b.N texts from as many senders as the
// dispatcher has workers, no receipts) and reports the campaign's rate as
// a ratio of it, and the CPU a text cost Parley with the fake carrier
// (this process) and PostgreSQL (its server's processes on this machine).
func BenchmarkCampaignDispatch(b *testing.B) {
	const benchCampaignRate = 1000
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			url := storetest.URL(b, dialect)
			// PARLEY_BENCH_GROUP_COMMIT=off measures PostgreSQL with a
			// transaction per write, for an A/B in one binary.
			if dialect == "postgres" && os.Getenv("PARLEY_BENCH_GROUP_COMMIT") == "off" {
				url += "&parley_group_commit=off"
			}
			e := boot(b, url, func(c *Config, fc *twiliotestConfig) {
				c.LogLevel = "warn"
				fc.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: carrierTransport(b)}
				// PARLEY_BENCH_RECEIPTS=off: the carrier posts no status
				// callbacks, to weigh what receipts cost a text.
				if os.Getenv("PARLEY_BENCH_RECEIPTS") == "off" {
					fc.StatusCallbacks = false
				}
			})
			// Several campaigns at once, each on its own number: one
			// campaign is capped at 1,000 texts a second, the dispatcher
			// is not.
			k := min(b.N, envInt("PARLEY_BENCH_CAMPAIGNS", 4))
			var ids []string
			for i := range k {
				ch := e.setupChannel(map[string]any{"phone_number": fmt.Sprintf("+1415555%04d", 1000+i)})
				phones := make([]string, 0, b.N/k+1)
				for j := i; j < b.N; j += k {
					phones = append(phones, fmt.Sprintf("+1628%07d", 2000000+j))
				}
				c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": fmt.Sprint("bench ", i), "channel_id": ch["id"],
					"body": "Hello", "rate_per_second": benchCampaignRate, "audience": map[string]any{"phones": phones}}))
				ids = append(ids, c["id"].(string))
			}
			ceilingCPU := readCPU()
			ceiling := carrierCeiling(b, e, b.N)
			// One bare exchange with the fake carrier, both ends in this
			// process: what each of a campaign text's three exchanges (the
			// send and two receipts) costs before any of Parley's work.
			exchange, _ := ceilingCPU.perText(b.N)
			e.carrier.Reset()
			b.ResetTimer()
			sentBatches0, sent0 := e.main.DB.SentGroupStats()
			statusBatches0, receipts0 := e.main.DB.StatusGroupStats()
			busy0 := e.main.DB.WriterBusy()
			start, cpu := time.Now(), readCPU()
			for _, id := range ids {
				e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
			}
			deadline := time.Now().Add(10 * time.Minute)
			for e.carrier.Count() < b.N {
				if time.Now().After(deadline) {
					b.Fatalf("only %d of %d texts reached the carrier", e.carrier.Count(), b.N)
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			elapsed := time.Since(start)
			rate := float64(b.N) / elapsed.Seconds()
			if dialect == "sqlite" { // the share of the run its one writer was held
				b.ReportMetric(float64(e.main.DB.WriterBusy()-busy0)/float64(elapsed), "writer-busy")
			}
			self, postgres := cpu.perText(b.N)
			b.ReportMetric(self, "parley+carrier-cpu-ms/text")
			if dialect == "postgres" { // on SQLite it would be other work's
				b.ReportMetric(postgres, "postgres-cpu-ms/text")
			}
			b.ReportMetric(rate, "texts/s")
			b.ReportMetric(ceiling, "carrier-texts/s")
			b.ReportMetric(exchange, "exchange-cpu-ms")
			b.ReportMetric(rate/ceiling, "of-carrier")
			// How many writes a group commit's transaction held (zero
			// when it is off): fewer, larger batches cost less a text.
			sentBatches, sent := e.main.DB.SentGroupStats()
			statusBatches, receipts := e.main.DB.StatusGroupStats()
			b.ReportMetric(perBatch(sent-sent0, sentBatches-sentBatches0), "texts/sent-batch")
			b.ReportMetric(perBatch(receipts-receipts0, statusBatches-statusBatches0), "receipts/status-batch")
		})
	}
}

// perBatch is the mean batch size, zero without batches.
func perBatch(items, batches int64) float64 {
	if batches == 0 {
		return 0
	}
	return float64(items) / float64(batches)
}

// carrierCeiling is the rate at which the fake carrier accepts n texts
// sent straight to it through Parley's Twilio client, from as many
// senders as the dispatcher has workers, without status callbacks.
func carrierCeiling(b *testing.B, e *env, n int) float64 {
	b.Helper()
	sender, err := twilio.NewSender(e.main.Config.TwilioAPIURL, 0)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range (&campaigns.Dispatcher{}).WorkerCount() {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				text := campaigns.OutboundText{CarrierAccountID: accountSID, AuthToken: authToken, From: business,
					To: fmt.Sprintf("+1629%07d", i), Body: "Hello"}
				if _, err := sender.Send(context.Background(), text); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkCampaignRateAccuracy runs a campaign at a set rate and reports
// the rate achieved at the carrier and the most texts in any one-second
// window, and logs the texts of each second. PARLEY_BENCH_RATE (default 50) and PARLEY_BENCH_SECONDS (default
// 10; the figure uses 60) size it; b.N is ignored beyond one run.
func BenchmarkCampaignRateAccuracy(b *testing.B) {
	rate, seconds := envInt("PARLEY_BENCH_RATE", 50), envInt("PARLEY_BENCH_SECONDS", 10)
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			e := boot(b, storetest.URL(b, dialect), func(c *Config, fc *twiliotestConfig) { c.LogLevel = "warn" })
			ch := e.setupChannel(nil)
			n := rate * seconds
			phones := make([]string, n)
			for i := range phones {
				phones[i] = fmt.Sprintf("+1628%07d", 2000000+i)
			}
			c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "rate", "channel_id": ch["id"], "body": "Hello",
				"rate_per_second": rate, "audience": map[string]any{"phones": phones}}))
			b.ResetTimer()
			e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
			deadline := time.Now().Add(time.Duration(seconds)*time.Second*3 + time.Minute)
			for e.carrier.Count() < n {
				if time.Now().After(deadline) {
					b.Fatalf("only %d of %d texts", e.carrier.Count(), n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.StopTimer()
			msgs := e.carrier.Messages()
			first, last := msgs[0].DateCreated, msgs[len(msgs)-1].DateCreated
			burst := 0
			for i, j := 0, 0; i < len(msgs); i++ { // the widest one-second window
				for msgs[i].DateCreated.Sub(msgs[j].DateCreated) >= time.Second {
					j++
				}
				burst = max(burst, i-j+1)
			}
			// A stall shows as a dip, a burst as a peak.
			perSecond := make([]int, int(last.Sub(first)/time.Second)+1)
			for _, m := range msgs {
				perSecond[int(m.DateCreated.Sub(first)/time.Second)]++
			}
			b.Logf("texts in each second from the first: %v", perSecond)
			b.ReportMetric(float64(n-1)/last.Sub(first).Seconds(), "texts/s")
			b.ReportMetric(float64(burst), "max-texts-in-1s")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
