package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
)

// BenchmarkAutoAssign measures the latency auto-assignment adds to one
// conversation: the AutoAssign transaction (account lock, table and pool
// read, load count, decision, assignment, event, cursor) for a first
// inbound text, on an account with 50 agents who already hold 10,000 open
// conversations between them. The ingest that creates the conversation is
// not timed. Besides ns/op (the mean) it reports the median and the 99th
// percentile of the individual calls as p50-ns and p99-ns.
//
//	go test ./store -run '^$' -bench BenchmarkAutoAssign -count 5
func BenchmarkAutoAssign(b *testing.B) {
	const (
		agents = 50
		open   = 10_000
	)
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for _, strategy := range []routing.Strategy{routing.RoundRobin, routing.LeastBusy} {
				b.Run(string(strategy), func(b *testing.B) {
					db := storetest.MustOpen(b, dialect)
					a := newTenant(b, db, sidA, bizA)
					seeded, err := storetest.DevDB(b, db).Seed(ctx, db, devdb.SeedSpec{AccountID: a.account.ID, Conversations: open, Messages: 2 * open,
						Agents: agents, Now: t0, Seed: 42})
					if err != nil {
						b.Fatalf("seed: %v", err)
					}
					// Every seeded conversation open and assigned: 200 per agent.
					for i, id := range seeded.AgentIDs {
						exec(b, db, `UPDATE conversations SET status = 'open', snoozed_until = NULL, assignee_id = ?
WHERE account_id = ? AND channel_id = ? AND id % ? = ?`, id, a.account.ID, seeded.ChannelID, agents, i)
					}
					if n := count(b, db, `SELECT COUNT(*) FROM conversations WHERE account_id = ? AND status = 'open' AND assignee_id IS NOT NULL`,
						a.account.ID); n != open {
						b.Fatalf("%d open assigned conversations, want %d", n, open)
					}
					if _, err := db.CreateRoutingTable(ctx, routing.Table{AccountID: a.account.ID, Name: "Everyone", Default: true,
						Entries: []routing.Entry{{UserIDs: seeded.AgentIDs, Strategy: strategy}}, CreatedAt: t0, UpdatedAt: t0}); err != nil {
						b.Fatalf("routing table: %v", err)
					}
					if _, err := db.UpdateSettings(ctx, a.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
						s.AllowAutoAssignment = true
						return s, nil
					}, t0); err != nil {
						b.Fatalf("settings: %v", err)
					}
					route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
					if err != nil {
						b.Fatal(err)
					}

					var took []time.Duration
					i := 0
					for b.Loop() {
						b.StopTimer()
						i++
						at := t0.Add(time.Duration(i) * time.Millisecond)
						in := conversations.InboundText{CarrierMessageID: fmt.Sprintf("SMassign%025d", i), From: fmt.Sprintf("+1415%07d", 3000000+i),
							To: bizA, Body: "Hi, is anyone there?", Segments: 1}
						res, err := db.Ingest(ctx, conversations.Plan(route, in, at))
						if err != nil || !res.NeedsAssignment() {
							b.Fatalf("ingest %d: %+v, %v", i, res, err)
						}
						b.StartTimer()

						start := time.Now()
						d, err := db.AutoAssign(ctx, a.account.ID, res.Conversation.ID, at)
						took = append(took, time.Since(start))

						if err != nil || d.UserID == nil {
							b.Fatalf("auto-assign %d: %+v, %v", i, d, err)
						}
					}
					b.ReportMetric(float64(percentile(took, 50).Nanoseconds()), "p50-ns")
					b.ReportMetric(float64(percentile(took, 99).Nanoseconds()), "p99-ns")
					b.ReportMetric(float64(len(took)), "calls")
				})
			}
		})
	}
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	return s[max(rank, 1)-1]
}
