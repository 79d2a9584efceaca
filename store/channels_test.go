package store_test

import (
	"strings"
	"testing"

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

func TestFindStatusRoute(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA})
		newTenant(t, db, sidB, bizB)

		ch, err := db.FindStatusRoute(ctx, conversations.CarrierTwilio, sidA)
		if err != nil {
			t.Fatalf("FindStatusRoute: %v", err)
		}
		if ch.AccountID != a.account.ID || ch.CarrierAccountID != sidA || ch.AuthToken != a.channel.AuthToken {
			t.Errorf("FindStatusRoute = %+v; want a channel of %s", ch, sidA)
		}
		_, err = db.FindStatusRoute(ctx, conversations.CarrierTwilio, "AC"+strings.Repeat("c", 32))
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.FindStatusRoute(ctx, "telnyx", sidA)
		wantKind(t, err, parley.ENOTFOUND)
	})
}
