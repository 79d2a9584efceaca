package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// streamWatch is the live streams of a bench run (`parley bench
// --streams N`): N clients of GET /v1/stream, each timing every inbound
// text it is sent twice, to the moment the client reads it:
//   - from the text's arrival (its created_at, taken before the ingest
//     transaction): the ingest transaction, its commit, the hub's read and
//     the stream's write, an upper bound of commit-to-client;
//   - from the webhook's answer, which Parley gives once the text is
//     committed: commit-to-client less the answer's way back to the
//     carrier. A text read before its answer came back counts 0.
type streamWatch struct {
	hists      []*hdrhistogram.Histogram // from arrival, per stream, merged at the end
	fromAnswer []*hdrhistogram.Histogram // from the webhook's answer
	answers    *sync.Map                 // carrier message id → time.Time answered
	counts     []int64                   // inbound texts each stream read in the window
	errs       atomic.Int64
	from       atomic.Int64 // the measured window, Unix ms of created_at
	end        atomic.Int64
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	log        io.Writer
}

// streamResult is what the streams measured.
type streamResult struct {
	Streams  int    `json:"streams"`
	Instance string `json:"stream_instance"` // "same" or "second"
	// Agents is how many agents the streams signed in as (0: the admin).
	Agents int     `json:"stream_agents,omitempty"`
	P50    float64 `json:"stream_p50_ms"`
	P90    float64 `json:"stream_p90_ms"`
	P99    float64 `json:"stream_p99_ms"`
	Max    float64 `json:"stream_max_ms"`
	// From the webhook's answer (the commit) to the client.
	AnswerP50    float64 `json:"stream_from_answer_p50_ms"`
	AnswerP99    float64 `json:"stream_from_answer_p99_ms"`
	AnswerMax    float64 `json:"stream_from_answer_max_ms"`
	Deliveries   int64   `json:"stream_deliveries"`
	MinPerStream int64   `json:"stream_min_texts"`
	MaxPerStream int64   `json:"stream_max_texts"`
	Errors       int64   `json:"stream_errors"`
}

// openStreams opens n streams on base as token and waits until all are
// open, signed in with tokens round robin.
func openStreams(ctx context.Context, base string, tokens []string, n int, answers *sync.Map, log io.Writer) (*streamWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &streamWatch{hists: make([]*hdrhistogram.Histogram, n), fromAnswer: make([]*hdrhistogram.Histogram, n),
		answers: answers, counts: make([]int64, n), cancel: cancel, log: log}
	w.from.Store(1 << 62)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	opened := make(chan error, n)
	for i := range n {
		// Two significant digits: a thousand histograms stay small.
		w.hists[i] = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 2)
		w.fromAnswer[i] = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 2)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.follow(ctx, client, base, tokens[i%len(tokens)], i, opened)
		}()
	}
	for range n {
		if err := <-opened; err != nil {
			w.stop()
			return nil, err
		}
	}
	return w, nil
}

// follow reads one stream until ctx ends.
func (w *streamWatch) follow(ctx context.Context, client *http.Client, base, token string, i int, opened chan<- error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/stream", nil)
	if err != nil {
		opened <- err
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err == nil && res.StatusCode != http.StatusOK {
		res.Body.Close()
		err = fmt.Errorf("GET /v1/stream answered %d", res.StatusCode)
	}
	opened <- err
	if err != nil {
		return
	}
	defer res.Body.Close()
	rd := bufio.NewReaderSize(res.Body, 64<<10)
	var typ []byte
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				w.errs.Add(1)
				fmt.Fprintf(w.log, "bench: a stream failed: %v\n", err)
			}
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			typ = append(typ[:0], bytes.TrimSpace(line[len("event: "):])...)
		case bytes.HasPrefix(line, []byte("data: ")) && string(typ) == "message.created":
			w.note(i, line[len("data: "):])
		}
	}
}

// note times one message.created if it is an inbound text of the window.
// It reads created_at without decoding the rest: a thousand clients in
// this process must not take the CPU the server is measured with.
func (w *streamWatch) note(i int, data []byte) {
	read := time.Now()
	if !bytes.Contains(data, []byte(`"direction":"inbound"`)) {
		return
	}
	_, rest, ok := bytes.Cut(data, []byte(`"created_at":"`))
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 {
		return
	}
	created, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	if err != nil {
		return
	}
	at := created.UnixMilli()
	if at < w.from.Load() || at >= w.end.Load() {
		return
	}
	w.counts[i]++
	_ = w.hists[i].RecordValue(read.Sub(created).Microseconds())
	var since time.Duration
	if _, rest, ok := bytes.Cut(data, []byte(`"carrier_message_id":"`)); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 {
			if at, ok := w.answers.Load(string(rest[:end])); ok {
				since = max(0, read.Sub(at.(time.Time)))
			}
		}
	}
	_ = w.fromAnswer[i].RecordValue(since.Microseconds())
}

// window sets the texts that count: those that arrived from from to end.
func (w *streamWatch) window(from, end time.Time) {
	w.end.Store(end.UnixMilli())
	w.from.Store(from.UnixMilli())
}

func (w *streamWatch) stop() {
	w.cancel()
	w.wg.Wait()
}

// result stops the streams once the last texts had time to arrive.
func (w *streamWatch) result(instance string) streamResult {
	time.Sleep(2 * time.Second)
	w.stop()
	all := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 2)
	fromAnswer := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 2)
	r := streamResult{Streams: len(w.hists), Instance: instance, Errors: w.errs.Load(), MinPerStream: -1}
	for i, h := range w.hists {
		all.Merge(h)
		fromAnswer.Merge(w.fromAnswer[i])
		r.Deliveries += w.counts[i]
		if r.MinPerStream < 0 || w.counts[i] < r.MinPerStream {
			r.MinPerStream = w.counts[i]
		}
		r.MaxPerStream = max(r.MaxPerStream, w.counts[i])
	}
	ms := func(q float64) float64 { return float64(all.ValueAtQuantile(q)) / 1000 }
	r.P50, r.P90, r.P99, r.Max = ms(50), ms(90), ms(99), float64(all.Max())/1000
	r.AnswerP50, r.AnswerP99 = float64(fromAnswer.ValueAtQuantile(50))/1000, float64(fromAnswer.ValueAtQuantile(99))/1000
	r.AnswerMax = float64(fromAnswer.Max()) / 1000
	return r
}

func (r streamResult) print(w io.Writer) {
	as := "the admin"
	if r.Agents > 0 {
		as = fmt.Sprintf("%d agents", r.Agents)
	}
	fmt.Fprintf(w, "streams: %d on the %s instance as %s, %d texts delivered (%d–%d a stream), %d errors\n",
		r.Streams, r.Instance, as, r.Deliveries, r.MinPerStream, r.MaxPerStream, r.Errors)
	fmt.Fprintf(w, "arrival to client ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.P50, r.P90, r.P99, r.Max)
	fmt.Fprintf(w, "webhook answered (committed) to client ms: p50 %.2f  p99 %.2f  max %.2f\n", r.AnswerP50, r.AnswerP99, r.AnswerMax)
}
