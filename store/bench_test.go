package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store/storetest"
)

// BenchmarkIngest measures one inbound text: the plan (keyword matching,
// revocation check) and the ingest transaction, without HTTP.
func BenchmarkIngest(b *testing.B) {
	cases := []struct {
		name string
		// from returns the sender of text i, body its text.
		from func(i int) string
		body func(i int) string
	}{
		{"new_conversation", func(i int) string { return fmt.Sprintf("+1%010d", 2000000000+i) }, nil},
		{"existing_conversation", func(int) string { return alice }, nil},
		// A hundred phones saying STOP, then START, in turn: each text
		// changes its phone's consent and queues a confirmation.
		{"keyword", func(i int) string { return fmt.Sprintf("+1%010d", 3000000000+i%100) },
			func(i int) string { return []string{"STOP", "START"}[i/100%2] }},
	}
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for _, bc := range cases {
				b.Run(bc.name, func(b *testing.B) {
					db := storetest.MustOpen(b, dialect)
					a := newTenant(b, db, sidA, bizA)
					route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
					if err != nil {
						b.Fatal(err)
					}
					a.receive(b, text{from: alice, body: "the thread exists"})
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						body := "Hi, can I move my appointment to Thursday afternoon?"
						if bc.body != nil {
							body = bc.body(i)
						}
						in := conversations.InboundText{CarrierMessageID: fmt.Sprintf("SMbench%026d", i), From: bc.from(i), To: bizA,
							Body: body, Segments: 1}
						res, err := db.Ingest(ctx, conversations.Plan(route, in, t0.Add(time.Duration(i)*time.Millisecond)))
						if err != nil || res.Duplicate {
							b.Fatalf("ingest %d: %+v, %v", i, res, err)
						}
					}
				})
			}
		})
	}
}
