package store_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func TestCreateChannel(t *testing.T) {
	t.Parallel()
	mgB := "MG" + "b" + mgA[3:]
	tests := []struct {
		name string
		// make builds the channel to create from two tenants: a owns a
		// channel for bizA (carrier account sidA) and a service channel mgA.
		make func(a, b *tenant) conversations.Channel
		kind string
		code string
	}{
		{"another number", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, CarrierAccountID: sidA, PhoneNumber: bizA2}
		}, "", ""},
		{"inbox of another account", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: b.inbox.ID, CarrierAccountID: sidA, PhoneNumber: bizA2}
		}, parley.EINVALID, "validation_failed"},
		{"no such inbox", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: 987654, CarrierAccountID: sidA, PhoneNumber: bizA2}
		}, parley.EINVALID, "validation_failed"},
		{"same number twice", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, CarrierAccountID: sidA, PhoneNumber: bizA}
		}, parley.ECONFLICT, "channel_exists"},
		{"same number, another account of ours, same carrier account", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: b.account.ID, InboxID: b.inbox.ID, CarrierAccountID: sidA, PhoneNumber: bizA}
		}, parley.ECONFLICT, "channel_exists"},
		{"same messaging service twice", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, CarrierAccountID: sidA, MessagingServiceSID: mgA}
		}, parley.ECONFLICT, "channel_exists"},
		{"another messaging service", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, CarrierAccountID: sidA, MessagingServiceSID: mgB}
		}, "", ""},
		{"a service whose number also has its own channel", func(a, b *tenant) conversations.Channel {
			return conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, CarrierAccountID: sidA, MessagingServiceSID: mgB, PhoneNumber: bizA}
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA})
				b := newTenant(t, db, sidB, bizB)
				c := tt.make(a, b)
				c.Carrier, c.AuthToken, c.CreatedAt = conversations.CarrierTwilio, "secret-token", t0
				before := count(t, db, `SELECT COUNT(*) FROM channels`)
				got, err := db.CreateChannel(ctx, c)
				if tt.kind != "" {
					wantKind(t, err, tt.kind, tt.code)
					if after := count(t, db, `SELECT COUNT(*) FROM channels`); after != before {
						t.Errorf("a refused channel was stored: %d channels, want %d", after, before)
					}
					return
				}
				if err != nil {
					t.Fatalf("CreateChannel: %v", err)
				}
				list, _, err := db.ListChannels(ctx, c.AccountID, parley.Page{})
				if err != nil {
					t.Fatal(err)
				}
				last := list[len(list)-1]
				if got.ID == 0 || last.ID != got.ID || last.PhoneNumber != c.PhoneNumber || last.MessagingServiceSID != c.MessagingServiceSID ||
					last.AuthToken != "secret-token" || last.InboxID != c.InboxID || !last.CreatedAt.Equal(t0) {
					t.Errorf("ListChannels last = %+v; want %+v", last, got)
				}
			})
		})
	}
}

func TestFindInboundRoute(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA) // single number bizA
		pool := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA, CarrierHandlesOptOut: true})
		// bizA2 is a number of the pool that also has a channel of its own.
		own := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
		b := newTenant(t, db, sidB, bizB)

		tests := []struct {
			name                     string
			carrier, account, to, mg string
			want                     parley.ID // 0: ENOTFOUND
		}{
			{"by number", conversations.CarrierTwilio, sidA, bizA, "", a.channel.ID},
			{"by number without a service", conversations.CarrierTwilio, sidA, bizA2, "", own.ID},
			{"by service, a pool number without a channel", conversations.CarrierTwilio, sidA, "+14155550199", mgA, pool.ID},
			{"by service, another pool number", conversations.CarrierTwilio, sidA, "+14155550198", mgA, pool.ID},
			{"service wins over the number's own channel", conversations.CarrierTwilio, sidA, bizA2, mgA, pool.ID},
			{"another tenant's number", conversations.CarrierTwilio, sidB, bizB, "", b.channel.ID},
			{"unknown number", conversations.CarrierTwilio, sidA, "+14155550177", "", 0},
			{"unknown service, unknown number", conversations.CarrierTwilio, sidA, "+14155550177", "MG" + mgA[2:33] + "z", 0},
			{"right number, wrong carrier account", conversations.CarrierTwilio, sidB, bizA, "", 0},
			{"right service, wrong carrier account", conversations.CarrierTwilio, sidB, "+14155550199", mgA, 0},
			{"another carrier", "telnyx", sidA, bizA, "", 0},
			{"by carrier account alone (Bird's channel id)", conversations.CarrierTwilio, sidB, "", "", b.channel.ID},
			{"an unknown carrier account alone", conversations.CarrierTwilio, "AC" + sidB[2:33] + "z", "", "", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				route, err := db.FindInboundRoute(ctx, tt.carrier, tt.account, tt.to, tt.mg)
				if tt.want == 0 {
					wantKind(t, err, parley.ENOTFOUND)
					return
				}
				if err != nil {
					t.Fatalf("FindInboundRoute: %v", err)
				}
				if route.Channel.ID != tt.want {
					t.Fatalf("routed to channel %d; want %d", route.Channel.ID, tt.want)
				}
				// The route carries what the webhook needs next: the
				// credentials to check the signature and the account's
				// settings to plan with.
				if route.Channel.AuthToken == "" || route.Channel.CarrierAccountID != tt.account || len(route.Settings.Keywords.OptOut) == 0 {
					t.Errorf("route = %+v", route)
				}
				if tt.want == pool.ID && !route.Channel.CarrierHandlesOptOut {
					t.Error("the service channel lost carrier_handles_optout")
				}
			})
		}
	})
}

// A status callback is checked against each token the carrier account's
// connected channels hold: one channel per token, disconnected ones left out.
func TestStatusRoutes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA})
		// A channel another tenant claimed under A's carrier account
		// before channels were verified: its token is another.
		b := newTenant(t, db, sidB, bizB)
		claimed := b.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2, AuthToken: "b-token"})

		chs, err := db.StatusRoutes(ctx, conversations.CarrierTwilio, sidA)
		if err != nil {
			t.Fatalf("StatusRoutes: %v", err)
		}
		if len(chs) != 2 || chs[0].ID != a.channel.ID || chs[1].ID != claimed.ID {
			t.Errorf("StatusRoutes = %+v; want A's first channel and the claimed one", chs)
		}
		if err := db.DisconnectChannel(ctx, b.account.ID, claimed.ID, t0); err != nil {
			t.Fatal(err)
		}
		if chs, err = db.StatusRoutes(ctx, conversations.CarrierTwilio, sidA); err != nil || len(chs) != 1 || chs[0].ID != a.channel.ID {
			t.Errorf("after disconnecting the claimed channel: %+v, %v", chs, err)
		}
		_, err = db.StatusRoutes(ctx, conversations.CarrierTwilio, "AC"+strings.Repeat("c", 32))
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.StatusRoutes(ctx, "telnyx", sidA)
		wantKind(t, err, parley.ENOTFOUND)
	})
}

// TestRoutesFollowChanges: webhooks' routes are kept between webhooks, yet
// a channel connected or settings changed are seen by the next look-up:
// through this handle, and through another (a second instance) on
// PostgreSQL, which tells every instance; on SQLite, where only a command
// beside the server writes, once the kept route is older than the keep
// time.
func TestRoutesFollowChanges(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		route := func(t *testing.T, mg string) conversations.InboundRoute {
			t.Helper()
			r, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, mg)
			if err != nil {
				t.Fatalf("FindInboundRoute: %v", err)
			}
			return r
		}
		setHelp := func(t *testing.T, on *store.DB, help string) {
			t.Helper()
			if _, err := on.UpdateSettings(ctx, a.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
				s.HelpText = help
				return s, nil
			}, t0); err != nil {
				t.Fatal(err)
			}
		}
		// eventually waits for a look-up to see a change.
		eventually := func(t *testing.T, what string, seen func() bool) {
			t.Helper()
			for deadline := time.Now().Add(5 * time.Second); !seen(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: not seen after 5 s", what)
				}
			}
		}
		const keep = 300 * time.Millisecond
		if db.Dialect() == "postgres" {
			// Only a notification can show another instance's change.
			db.KeepRoutesFor(time.Hour)
		} else {
			db.KeepRoutesFor(keep)
		}
		// On PostgreSQL, once this instance listens.
		eventually(t, "the route kept", func() bool { route(t, ""); return db.RoutesKept() > 0 })

		// Until the service has a channel, its texts go to the number's.
		if got := route(t, mgA).Channel.ID; got != a.channel.ID {
			t.Fatalf("before the service's channel: routed to %d, want the number's %d", got, a.channel.ID)
		}
		pool := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA})
		if got := route(t, mgA).Channel.ID; got != pool.ID {
			t.Errorf("after the service's channel was connected: routed to %d, want the service's %d", got, pool.ID)
		}
		route(t, "")
		setHelp(t, db, "help, changed here")
		if got := route(t, "").Settings.HelpText; got != "help, changed here" {
			t.Errorf("help text after a change through this handle = %q", got)
		}

		other, err := store.Open(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		// Another service of the account: its texts reach the number's
		// channel until another instance connects the service's; from
		// then on, never again.
		mgC := "MG" + strings.Repeat("c", 32)
		if got := route(t, mgC).Channel.ID; got != a.channel.ID {
			t.Fatalf("a service without a channel: routed to %d, want the number's %d", got, a.channel.ID)
		}
		service, err := other.CreateChannel(ctx, conversations.Channel{AccountID: a.account.ID, InboxID: a.inbox.ID, Carrier: conversations.CarrierTwilio,
			CarrierAccountID: sidA, MessagingServiceSID: mgC, AuthToken: a.channel.AuthToken, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if got := route(t, mgC).Channel.ID; got != service.ID {
			t.Errorf("after another instance connected the service's channel: routed to %d, want %d", got, service.ID)
		}

		route(t, "")
		setHelp(t, other, "help, changed by another instance")
		eventually(t, "another instance's settings", func() bool { return route(t, "").Settings.HelpText == "help, changed by another instance" })

		// A status callback's channels are kept likewise.
		chs, err := db.StatusRoutes(ctx, conversations.CarrierTwilio, sidA)
		if err != nil || len(chs) != 1 || chs[0].ID != a.channel.ID {
			t.Fatalf("StatusRoutes = %+v, %v; want the first channel %d", chs, err, a.channel.ID)
		}

		// A token rotated or a channel disconnected by another instance
		// is seen by the webhooks here: the old token stops working.
		rotated := "rotated-token"
		if _, err := other.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{AuthToken: &rotated}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "another instance's new token", func() bool { return route(t, "").Channel.AuthToken == rotated })
		eventually(t, "another instance's new token for status callbacks", func() bool {
			chs, err := db.StatusRoutes(ctx, conversations.CarrierTwilio, sidA)
			return err == nil && slices.ContainsFunc(chs, func(c conversations.Channel) bool { return c.AuthToken == rotated })
		})
		if err := other.DisconnectChannel(ctx, a.account.ID, a.channel.ID, t0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "another instance's disconnection", func() bool {
			_, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
			return parley.IsKind(err, parley.ENOTFOUND)
		})
	})
}

// TestBookTurn: a paced channel's turns are handed out one interval apart
// however many dispatchers ask at once, and a turn too far off is not
// booked but reported.
func TestBookTurn(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		const askers, mps = 8, 4 // a turn every 250 ms
		turns := make(chan time.Time, askers)
		var wg sync.WaitGroup
		for range askers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				at, booked, err := db.BookTurn(ctx, tn.channel.ID, mps, t0, time.Second)
				if err != nil {
					t.Error(err)
				} else if booked {
					turns <- at
				}
			}()
		}
		wg.Wait()
		close(turns)
		var got []time.Time
		for at := range turns {
			got = append(got, at)
		}
		slices.SortFunc(got, time.Time.Compare)
		// Turns at 0, 250, 500, 750 and 1000 ms are within a second; the
		// other three askers are told to come back.
		if len(got) != 5 {
			t.Fatalf("%d turns booked within a second at 4/s, want 5: %v", len(got), got)
		}
		for i, at := range got {
			if want := t0.Add(time.Duration(i) * 250 * time.Millisecond); !at.Equal(want) {
				t.Errorf("turn %d at %v, want %v", i, at, want)
			}
		}
		at, booked, err := db.BookTurn(ctx, tn.channel.ID, mps, t0, time.Second)
		if err != nil || booked || !at.Equal(t0.Add(1250*time.Millisecond)) {
			t.Errorf("a turn beyond the window: %v booked=%v %v; want the next turn, 1.25 s, not booked", at, booked, err)
		}
		// Later, an idle channel's turn is now: no credit was saved up.
		later := t0.Add(time.Minute)
		if at, booked, _ := db.BookTurn(ctx, tn.channel.ID, mps, later, 0); !booked || !at.Equal(later) {
			t.Errorf("idle channel: turn %v booked=%v, want now", at, booked)
		}
		if _, booked, _ := db.BookTurn(ctx, tn.channel.ID, mps, later, 0); booked {
			t.Error("a second turn at the same instant was booked with no wait allowed")
		}
	})
}
