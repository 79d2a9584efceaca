package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// A text delivered in parts is returned whole once its last part is kept,
// whatever the order the parts came in; a part delivered again is kept
// once; parts of the same reference from another phone are another text;
// parts left waiting longer than PartTTL are forgotten.
func TestJoinTextPart(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		part := func(from, ref string, n, total int, body string) conversations.InboundText {
			return conversations.InboundText{CarrierMessageID: fmt.Sprintf("%s-%s-%d", from, ref, n), From: from, To: bizA, Body: body,
				Part: &conversations.TextPart{Ref: ref, Number: n, Total: total}}
		}
		join := func(p conversations.InboundText, at time.Time) []conversations.InboundText {
			t.Helper()
			parts, err := db.JoinTextPart(ctx, a.channel.ID, p, at)
			if err != nil {
				t.Fatal(err)
			}
			return parts
		}
		if got := join(part(alice, "r1", 3, 3, "three."), t0); got != nil {
			t.Fatalf("whole after one part of three: %v", got)
		}
		if got := join(part(alice, "r1", 1, 3, "One, "), t0); got != nil {
			t.Fatalf("whole after two parts of three: %v", got)
		}
		if got := join(part(alice, "r1", 1, 3, "One, "), t0); got != nil {
			t.Fatalf("a part delivered again counted twice: %v", got)
		}
		if got := join(part(bob, "r1", 2, 3, "BOB"), t0); got != nil {
			t.Fatalf("another phone's part with the same reference completed Alice's text: %v", got)
		}
		whole := conversations.Joined(join(part(alice, "r1", 2, 3, "two, "), t0.Add(time.Minute)))
		if whole.Body != "One, two, three." || whole.CarrierMessageID != alice+"-r1-1" || whole.Segments != 3 || whole.Part != nil || whole.From != alice || whole.To != bizA {
			t.Errorf("the whole text: %+v", whole)
		}
		if got := join(part(alice, "r1", 3, 3, "three."), t0.Add(2*time.Minute)); len(got) != 3 {
			t.Errorf("a part delivered again after the text was whole: %d parts; want the whole again (its ingest is a duplicate)", len(got))
		}

		// The phone's next long texts reuse the reference, as a one-byte
		// reference must: first with another count of parts, then with
		// the same count.
		again := func(text string, n, total int, body string) conversations.InboundText {
			p := part(alice, "r1", n, total, body)
			p.CarrierMessageID = text + p.CarrierMessageID
			return p
		}
		if got := join(again("next-", 2, 2, "is knocking."), t0.Add(3*time.Minute)); got != nil {
			t.Fatalf("the next text's second part of two completed it with the last text's first: %v", conversations.Joined(got).Body)
		}
		next := conversations.Joined(join(again("next-", 1, 2, "The boiler "), t0.Add(4*time.Minute)))
		if next.Body != "The boiler is knocking." || next.CarrierMessageID != "next-"+alice+"-r1-1" {
			t.Errorf("the next text under the same reference: %q, id %s", next.Body, next.CarrierMessageID)
		}
		if got := join(again("third-", 1, 2, "Now it "), t0.Add(5*time.Minute)); got != nil {
			t.Fatalf("the third text's first part completed it with the last text's second: %v", conversations.Joined(got).Body)
		}
		third := conversations.Joined(join(again("third-", 2, 2, "leaks!"), t0.Add(6*time.Minute)))
		if third.Body != "Now it leaks!" || third.CarrierMessageID != "third-"+alice+"-r1-1" {
			t.Errorf("the third text under the same reference: %q, id %s", third.Body, third.CarrierMessageID)
		}
		// The carrier delivers a part of the third text again after the
		// fourth began under the reference: dropped, not joined to it.
		join(again("fourth-", 1, 2, "Fixed, "), t0.Add(7*time.Minute))
		if got := join(again("third-", 2, 2, "leaks!"), t0.Add(8*time.Minute)); got != nil {
			t.Errorf("the third text's part delivered again joined the fourth: %q", conversations.Joined(got).Body)
		}
		fourth := conversations.Joined(join(again("fourth-", 2, 2, "thanks."), t0.Add(9*time.Minute)))
		if fourth.Body != "Fixed, thanks." {
			t.Errorf("the fourth text after a part of the third came again: %q", fourth.Body)
		}

		join(part(bob, "r2", 1, 2, "stale "), t0)
		if got := join(part(bob, "r2", 2, 2, "late"), t0.Add(conversations.PartTTL+time.Minute)); got != nil {
			t.Errorf("a part joined one forgotten %v ago: %v", conversations.PartTTL, got)
		}
	})
}

// Parts arriving at once, each in its own transaction: the text is whole
// for at least one of them, every time.
func TestJoinTextPartConcurrently(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		const total = 4
		for round := range 10 {
			ref := fmt.Sprintf("c%d", round)
			var wg sync.WaitGroup
			var mu sync.Mutex
			wholes := 0
			for n := 1; n <= total; n++ {
				wg.Go(func() {
					p := conversations.InboundText{CarrierMessageID: fmt.Sprintf("%s-%d", ref, n), From: alice, To: bizA, Body: fmt.Sprint(n),
						Part: &conversations.TextPart{Ref: ref, Number: n, Total: total}}
					parts, err := db.JoinTextPart(ctx, a.channel.ID, p, t0)
					if err != nil {
						t.Error(err)
						return
					}
					if parts != nil {
						mu.Lock()
						wholes++
						mu.Unlock()
						if got := conversations.Joined(parts).Body; got != "1234" {
							t.Errorf("round %d: whole text %q", round, got)
						}
					}
				})
			}
			wg.Wait()
			if wholes == 0 {
				t.Fatalf("round %d: %d parts arrived together and the text was never whole", round, total)
			}
		}
	})
}
