package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

const statusPath = "/webhooks/twilio/status"

// webhookLimit is the body limit of the carrier webhooks: real ones are a
// few kilobytes.
const webhookLimit = 64 << 10

// countingReader counts the bytes the server reads of a request body.
type countingReader struct {
	r    io.Reader
	read *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// forgedBody is a webhook form of exactly size bytes for the bench channel,
// padded in Body; it is posted with a wrong signature.
func forgedBody(path string, size int) []byte {
	form := url.Values{"AccountSid": {benchSID}, "MessageSid": {fmt.Sprintf("SM%032d", 1)}}
	if path == inboundPath {
		form.Set("From", "+14155550100")
		form.Set("To", benchNumber)
	} else {
		form.Set("MessageStatus", "delivered")
	}
	head := form.Encode() + "&Body="
	return []byte(head + strings.Repeat("a", size-len(head)))
}

// forgedRequest posts body with a wrong signature, its length declared or
// not (as with chunked encoding), counting what is read of it into read.
func forgedRequest(path string, body []byte, declared bool, read *atomic.Int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, countingReader{r: bytes.NewReader(body), read: read})
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", "bm90IHRoZSBzaWduYXR1cmU=")
	r.ContentLength = -1
	if declared {
		r.ContentLength = int64(len(body))
	}
	return r
}

// TestWebhookBodiesAreBounded replays the attack of 200 concurrent 1 MiB
// bodies with bad signatures on each carrier webhook: each is refused 413
// with the API's error body, and none is read past 64 KiB (a body of
// declared length not at all), so what the attack holds in memory is
// bounded by the limit, not by what the attacker sends.
func TestWebhookBodiesAreBounded(t *testing.T) {
	h := newBenchHandler(t, storetest.MustOpen(t, "sqlite"))
	const attackers = 200
	for _, path := range []string{inboundPath, statusPath} {
		body := forgedBody(path, 1<<20)
		for _, declared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s declared=%v", path, declared), func(t *testing.T) {
				maxRead := int64(webhookLimit + 1) // reading one byte more tells an oversized body
				if declared {
					maxRead = 0
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				refused, mostRead := 0, int64(0)
				for range attackers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var read atomic.Int64
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, forgedRequest(path, body, declared, &read))
						var answer struct {
							Error struct{ Code string } `json:"error"`
						}
						_ = json.Unmarshal(rec.Body.Bytes(), &answer)
						mu.Lock()
						defer mu.Unlock()
						if rec.Code == http.StatusRequestEntityTooLarge && answer.Error.Code == "too_large" {
							refused++
						}
						mostRead = max(mostRead, read.Load())
					}()
				}
				wg.Wait()
				if refused != attackers {
					t.Errorf("%d of %d forged bodies answered 413 too_large, want all", refused, attackers)
				}
				if mostRead > maxRead {
					t.Errorf("the server read up to %d bytes of a 1 MiB body, want at most %d", mostRead, maxRead)
				}
			})
		}
	}
}

// BenchmarkInboundWebhookForged posts forged webhooks (wrong signature) from
// GOMAXPROCS×100 concurrent senders and reports what each costs the
// server: bytes allocated and bytes read of its body. "1MiB_declared" and
// "1MiB_chunked" are the oversized attack with and without a
// Content-Length; "64KiB_body" is the largest body accepted, which reaches
// the signature check; "64KiB_params" is one of thousands of tiny
// parameters.
func BenchmarkInboundWebhookForged(b *testing.B) {
	h := newBenchHandler(b, storetest.MustOpen(b, "sqlite"))
	var params strings.Builder
	params.WriteString(string(forgedBody(inboundPath, 256)))
	for i := 0; params.Len() < webhookLimit-16; i++ {
		params.WriteString("&k" + strconv.Itoa(i) + "=")
	}
	cases := []struct {
		name     string
		body     []byte
		declared bool
		status   int
	}{
		{"1MiB_declared", forgedBody(inboundPath, 1<<20), true, http.StatusRequestEntityTooLarge},
		{"1MiB_chunked", forgedBody(inboundPath, 1<<20), false, http.StatusRequestEntityTooLarge},
		{"64KiB_body", forgedBody(inboundPath, webhookLimit), true, http.StatusForbidden},
		{"64KiB_params", []byte(params.String()), true, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var read atomic.Int64
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.SetParallelism(100)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, forgedRequest(inboundPath, c.body, c.declared, &read))
					if rec.Code != c.status {
						b.Errorf("answered %d %s, want %d", rec.Code, rec.Body, c.status)
						return
					}
				}
			})
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/req")
			b.ReportMetric(float64(read.Load())/float64(b.N), "read-B/req")
		})
	}
}
