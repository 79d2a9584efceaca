package twiliotest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// TestConcurrentTraffic drives the fake as a busy Parley would: many
// workers sending texts through twilio-go, listing and fetching them while
// the phones text back and status callbacks flow. Run it with -race.
func TestConcurrentTraffic(t *testing.T) {
	const (
		workers    = 32
		perWorker  = 60
		recipients = 50
		inbound    = 200
	)
	p := startParley(t, 200, twiml)
	carrier, srv := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, PublicURL: publicURL, StatusCallbacks: true})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	callback := publicURL + twiliotest.StatusPath

	var (
		mu   sync.Mutex
		sids = make(map[string]string) // sid -> To
		wg   sync.WaitGroup
		errs = make(chan error, workers*perWorker+inbound)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				to := fmt.Sprintf("+1415555%04d", (w*perWorker+i)%recipients)
				m, err := tw.Api.CreateMessage(valid().SetTo(to).SetBody(fmt.Sprintf("text %d/%d", w, i)).SetStatusCallback(callback))
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				sids[*m.Sid] = to
				mu.Unlock()
				if i%10 == 0 { // readers race the writers
					if _, err := tw.Api.FetchMessage(*m.Sid, nil); err != nil {
						errs <- err
					}
					if _, err := tw.Api.ListMessage(new(api.ListMessageParams).SetTo(to).SetLimit(5)); err != nil {
						errs <- err
					}
					_ = carrier.MessagesTo(to)
				}
			}
		})
	}
	for i := range inbound {
		wg.Go(func() {
			res, err := carrier.SendInbound(context.Background(), twiliotest.Inbound{
				AccountSid: accountA, From: "+14155550199", To: "+14155550100", Body: fmt.Sprintf("reply %d", i)})
			if err != nil || res.StatusCode != 200 {
				errs <- fmt.Errorf("inbound %d: %d, %v", i, res.StatusCode, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	sent := workers * perWorker
	if len(sids) != sent {
		t.Fatalf("got %d distinct sids, want %d", len(sids), sent)
	}
	if got := len(carrier.Messages()); got != sent {
		t.Errorf("phones received %d texts, want %d", got, sent)
	}
	total := 0
	for r := range recipients {
		total += len(carrier.MessagesTo(fmt.Sprintf("+1415555%04d", r)))
	}
	if total != sent {
		t.Errorf("texts per recipient add up to %d, want %d", total, sent)
	}

	hooks := p.waitFor(t, inbound+2*sent)
	statuses := make(map[string][]string)
	for _, h := range hooks {
		if strings.HasPrefix(h.Path, twiliotest.StatusPath) {
			sid := h.Form.Get("MessageSid")
			statuses[sid] = append(statuses[sid], h.Form.Get("MessageStatus"))
			if h.Form.Get("To") != sids[sid] || !validSignature(tokenA, callback, h) {
				t.Errorf("callback for %s: To %q, signature valid %v", sid, h.Form.Get("To"), validSignature(tokenA, callback, h))
			}
		} else if !validSignature(tokenA, publicURL+twiliotest.InboundPath, h) {
			t.Errorf("inbound %s: signature does not validate", h.Form.Get("MessageSid"))
		}
	}
	for sid := range sids {
		if got := statuses[sid]; len(got) != 2 || got[0] != "sent" || got[1] != "delivered" {
			t.Errorf("callbacks for %s: %v, want [sent delivered]", sid, got)
		}
	}
}

// BenchmarkCreateMessage measures a create through the handler and the heap
// each stored text keeps, which bounds how many texts a benchmark of Parley
// can push through one fake.
func BenchmarkCreateMessage(b *testing.B) {
	carrier := twiliotest.New(twiliotest.Config{Accounts: map[string]string{accountA: tokenA}})
	b.Cleanup(carrier.Close)
	form := url.Values{"To": {"+14155550199"}, "From": {"+14155550100"},
		"Body":           {"Your appointment is tomorrow at 10:00. Reply C to confirm or R to reschedule."},
		"StatusCallback": {"https://parley.example.com/webhooks/twilio/status"}}.Encode()
	target := "/2010-04-01/Accounts/" + accountA + "/Messages.json"
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(accountA, tokenA)
		w := httptest.NewRecorder()
		carrier.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("create = %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(carrier.Messages())), "heap-B/text")
}
