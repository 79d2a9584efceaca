package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/store"
)

// addEndpoint gives the tenant an endpoint taking types.
func (tn *tenant) addEndpoint(t testing.TB, types ...string) events.Endpoint {
	t.Helper()
	e, err := events.NewEndpoint(tn.account.ID, "https://hooks.example.com/parley", types, "CRM", t0)
	if err != nil {
		t.Fatal(err)
	}
	if e, err = tn.db.CreateWebhookEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	return e
}

func claimHooks(t *testing.T, db *store.DB, at time.Time, limit int) []events.Claim {
	t.Helper()
	cs, err := db.ClaimWebhookDeliveries(ctx, at, time.Minute, limit)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func onlyDelivery(t *testing.T, tn *tenant, e events.Endpoint) events.Delivery {
	t.Helper()
	ds, _, err := tn.db.ListWebhookDeliveries(ctx, tn.account.ID, e.ID, parley.Page{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v; want one", ds, err)
	}
	return ds[0]
}

func TestWebhookEndpointsBelongToTheirAccount(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		e := a.addEndpoint(t, "message.created", "conversation.created")
		if fmt.Sprint(e.Events) != "[conversation.created message.created]" || e.ID == 0 || e.Secret == "" {
			t.Fatalf("created %+v", e)
		}
		if _, err := db.GetWebhookEndpoint(ctx, b.account.ID, e.ID); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Fatalf("another account's endpoint: %v, want not found", err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, b.account.ID, e.ID); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Fatalf("deleting another account's endpoint: %v, want not found", err)
		}
		changed, err := e.Apply(events.EndpointPatch{Events: []string{"*"}}, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if e, err = db.UpdateWebhookEndpoint(ctx, changed); err != nil || len(e.Events) != len(events.PublicTypes) {
			t.Fatalf("after subscribing to *: %v %v", e.Events, err)
		}
		list, _, err := db.ListWebhookEndpoints(ctx, a.account.ID, parley.Page{})
		if err != nil || len(list) != 1 || len(list[0].Events) != len(events.PublicTypes) {
			t.Fatalf("list %+v %v", list, err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, a.account.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetWebhookEndpoint(ctx, a.account.ID, e.ID); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Fatalf("deleted endpoint: %v", err)
		}
	})
}

// TestWebhookDeliveryClaimLeaseRecord follows one delivery: claimed and
// leased, reclaimed after a crash, an attempt of the dead claim ignored,
// a failure retried with the body kept, then a success.
func TestWebhookDeliveryClaimLeaseRecord(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		e := a.addEndpoint(t, "message.created")
		a.receive(t, text{from: "+14155551234", body: "Hello"})

		at := t0.Add(time.Second)
		first := claimHooks(t, db, at, 10)
		if len(first) != 1 || first[0].Event == nil || first[0].Event.Type != events.MessageCreated ||
			first[0].Endpoint.URL != e.URL || first[0].Endpoint.Secret != e.Secret || first[0].Delivery.Body != nil {
			t.Fatalf("first claim %+v", first)
		}
		if again := claimHooks(t, db, at.Add(30*time.Second), 10); len(again) != 0 {
			t.Fatalf("a leased delivery was claimed again: %+v", again)
		}
		// The claimer died; its lease ends and another takes over.
		at = at.Add(2 * time.Minute)
		second := claimHooks(t, db, at, 10)
		if len(second) != 1 || !second[0].ClaimedAt.After(first[0].ClaimedAt) {
			t.Fatalf("after the lease: %+v", second)
		}
		late := events.Attempt{DeliveryID: first[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: first[0].ClaimedAt,
			At: at, Status: 200, State: events.DeliverySucceeded, Answered: true, Body: []byte(`{"stale":true}`)}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{late}); err != nil {
			t.Fatal(err)
		}
		if d := onlyDelivery(t, a, e); d.State != events.DeliveryPending || d.Attempts != 0 {
			t.Fatalf("the dead claim's attempt was recorded: %+v", d)
		}

		body := []byte(`{"type":"message.created"}`)
		failed := events.Attempt{DeliveryID: second[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: second[0].ClaimedAt,
			At: at, Body: body, Status: 503, Latency: 12 * time.Millisecond, Excerpt: "down", Error: "",
			State: events.DeliveryPending, NextAttemptAt: at.Add(5 * time.Second), Failed: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{failed}); err != nil {
			t.Fatal(err)
		}
		d := onlyDelivery(t, a, e)
		if d.State != events.DeliveryPending || d.Attempts != 1 || d.LastStatus != 503 || d.LastExcerpt != "down" ||
			d.LastLatency != 12*time.Millisecond || !d.NextAttemptAt.Equal(at.Add(5*time.Second)) {
			t.Fatalf("after a 503: %+v", d)
		}
		if ep, _ := db.GetWebhookEndpoint(ctx, a.account.ID, e.ID); ep.FailingSince == nil || !ep.FailingSince.Equal(at) {
			t.Fatalf("failing since %v, want %v", ep.FailingSince, at)
		}
		if early := claimHooks(t, db, at.Add(4*time.Second), 10); len(early) != 0 {
			t.Fatalf("claimed before its retry time: %+v", early)
		}
		at = at.Add(5 * time.Second)
		third := claimHooks(t, db, at, 10)
		if len(third) != 1 || string(third[0].Delivery.Body) != string(body) || third[0].Event != nil || third[0].Delivery.Attempts != 1 {
			t.Fatalf("the retry's claim %+v", third)
		}
		ok := events.Attempt{DeliveryID: third[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: third[0].ClaimedAt,
			At: at, Status: 204, State: events.DeliverySucceeded, Answered: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{ok}); err != nil {
			t.Fatal(err)
		}
		d = onlyDelivery(t, a, e)
		if d.State != events.DeliverySucceeded || d.Attempts != 2 || d.DeliveredAt == nil || string(d.Body) != string(body) {
			t.Fatalf("after a 204: %+v", d)
		}
		if ep, _ := db.GetWebhookEndpoint(ctx, a.account.ID, e.ID); ep.FailingSince != nil {
			t.Fatalf("a success left the endpoint failing since %v", ep.FailingSince)
		}
		if more := claimHooks(t, db, at.Add(time.Hour), 10); len(more) != 0 {
			t.Fatalf("a delivered delivery was claimed: %+v", more)
		}
	})
}

// TestWebhookEndpointDisabledNotifiesAdmins: an attempt that disables
// the endpoint tells each admin once, and its deliveries wait.
func TestWebhookEndpointDisabledNotifiesAdmins(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		e := a.addEndpoint(t, "message.created")
		a.receive(t, text{from: "+14155551234", body: "one"})
		a.receive(t, text{from: "+14155551234", body: "two"})
		cs := claimHooks(t, db, t0.Add(time.Second), 1)
		if len(cs) != 1 {
			t.Fatalf("claimed %d", len(cs))
		}
		gone := events.Attempt{DeliveryID: cs[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: cs[0].ClaimedAt,
			At: t0.Add(time.Second), Status: 410, State: events.DeliveryFailed, Failed: true, Disable: events.DisabledGone}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{gone, gone}); err != nil {
			t.Fatal(err)
		}
		ep, _ := db.GetWebhookEndpoint(ctx, a.account.ID, e.ID)
		if ep.DisabledAt == nil || ep.DisabledReason != events.DisabledGone {
			t.Fatalf("endpoint %+v, want disabled as gone", ep)
		}
		ns, _, err := db.ListNotifications(ctx, a.account.ID, a.admin.ID, parley.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var told int
		for _, n := range ns {
			if n.Kind == conversations.NotifyWebhookDisabled {
				told++
				if n.WebhookEndpointID == nil || *n.WebhookEndpointID != e.ID || n.ConversationID != 0 {
					t.Errorf("notification %+v", n)
				}
			}
		}
		if told != 1 {
			t.Fatalf("the admin was told %d times, want once", told)
		}
		if cs := claimHooks(t, db, t0.Add(time.Hour), 10); len(cs) != 0 {
			t.Fatalf("a disabled endpoint's delivery was claimed: %+v", cs)
		}
		// Re-enabled by an admin, its pending delivery goes out.
		on := true
		changed, _ := ep.Apply(events.EndpointPatch{Enabled: &on}, t0.Add(time.Hour))
		if _, err := db.UpdateWebhookEndpoint(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if cs := claimHooks(t, db, t0.Add(time.Hour), 10); len(cs) != 1 {
			t.Fatalf("after re-enabling, claimed %d, want the pending one", len(cs))
		}
	})
}

// TestWebhookClaimsDoNotOverlap: claimers at once each take different
// deliveries (SKIP LOCKED on PostgreSQL, one writer on SQLite).
func TestWebhookClaimsDoNotOverlap(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addEndpoint(t, "message.created")
		for i := range 40 {
			a.receive(t, text{from: fmt.Sprintf("+1415555%04d", i), body: "hi"})
		}
		var mu sync.Mutex
		seen := map[parley.ID]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cs, err := db.ClaimWebhookDeliveries(ctx, t0.Add(time.Second), time.Minute, 15)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, c := range cs {
					seen[c.Delivery.ID]++
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Fatalf("claimed %d distinct deliveries, want all 40", len(seen))
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("delivery %d claimed %d times", id, n)
			}
		}
	})
}

func TestWebhookDeliveryLogIsPrunedWhenFinished(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		e := a.addEndpoint(t, "message.created")
		a.receive(t, text{from: "+14155551234", body: "delivered"})
		cs := claimHooks(t, db, t0.Add(time.Second), 10)
		done := events.Attempt{DeliveryID: cs[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: cs[0].ClaimedAt,
			At: t0.Add(time.Second), Status: 200, State: events.DeliverySucceeded, Answered: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{done}); err != nil {
			t.Fatal(err)
		}
		a.receive(t, text{from: "+14155551234", body: "still pending"})
		n, err := db.PruneWebhookDeliveries(ctx, t0.Add(time.Hour), 100)
		if err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want the delivered one", n, err)
		}
		if d := onlyDelivery(t, a, e); d.State != events.DeliveryPending {
			t.Fatalf("left %+v, want the pending one", d)
		}
	})
}

// TestWebhookRecoveryBringsTheBacklogForward: when a failing endpoint
// answers again, its deliveries waiting out a backoff are due at once;
// one in flight elsewhere is left to its claim.
func TestWebhookRecoveryBringsTheBacklogForward(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		e := a.addEndpoint(t, "message.created")
		for i := range 3 {
			a.receive(t, text{from: "+14155551234", body: fmt.Sprint("text ", i)})
		}
		at := t0.Add(time.Second)
		cs := claimHooks(t, db, at, 2)
		var failed []events.Attempt
		for i, c := range cs {
			failed = append(failed, events.Attempt{DeliveryID: c.Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: c.ClaimedAt,
				At: at, Status: 503, State: events.DeliveryPending, NextAttemptAt: at.Add(time.Duration(i+1) * time.Hour), Failed: true})
		}
		if err := db.RecordWebhookAttempts(ctx, failed); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Minute)
		third := claimHooks(t, db, at, 10)
		if len(third) != 1 || third[0].Endpoint.FailingSince == nil {
			t.Fatalf("claimed %+v, want the third, its endpoint failing", third)
		}
		// Another instance claims nothing more; the third's success is a recovery.
		ok := events.Attempt{DeliveryID: third[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: third[0].ClaimedAt,
			At: at, Status: 200, State: events.DeliverySucceeded, Answered: true, Recovered: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{ok}); err != nil {
			t.Fatal(err)
		}
		if due := claimHooks(t, db, at, 10); len(due) != 2 {
			t.Fatalf("after the recovery %d deliveries are due, want the 2 backing off", len(due))
		}
	})
}

func TestWebhookRecoveryLeavesDeliveriesInFlight(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		e := a.addEndpoint(t, "message.created")
		a.receive(t, text{from: "+14155551234", body: "one"})
		a.receive(t, text{from: "+14155551234", body: "two"})
		at := t0.Add(time.Second)
		first := claimHooks(t, db, at, 1)
		fail := events.Attempt{DeliveryID: first[0].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: first[0].ClaimedAt,
			At: at, Status: 503, State: events.DeliveryPending, NextAttemptAt: at.Add(time.Second), Failed: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{fail}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(2 * time.Second)
		both := claimHooks(t, db, at, 10) // the retry and the second, both in flight now
		if len(both) != 2 {
			t.Fatalf("claimed %d", len(both))
		}
		ok := events.Attempt{DeliveryID: both[1].Delivery.ID, EndpointID: e.ID, AccountID: a.account.ID, ClaimedAt: both[1].ClaimedAt,
			At: at, Status: 200, State: events.DeliverySucceeded, Answered: true, Recovered: true}
		if err := db.RecordWebhookAttempts(ctx, []events.Attempt{ok}); err != nil {
			t.Fatal(err)
		}
		if again := claimHooks(t, db, at, 10); len(again) != 0 {
			t.Fatalf("a delivery in flight was made due again: %+v", again)
		}
	})
}
