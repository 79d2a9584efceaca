package store_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// Disconnecting a channel cancels its campaigns that would still send
// (running, paused, scheduled, recurring): nothing more is queued on it,
// a recurring one starts no more runs, and every count adds up, what was
// not sent counted as cancelled. Another channel's campaign goes on.
func TestDisconnectChannelCancelsItsCampaigns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		other := tn.addChannel(t, conversations.Channel{CarrierAccountID: newSID("AC"), PhoneNumber: bizA2})
		phones := []string{"+16285550101", "+16285550102", "+16285550103", "+16285550104"}

		running := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 1)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		sent := 0
		for _, it := range claim(t, db, now, 10) {
			if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending", Segments: 1}, now); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		now = now.Add(time.Second)
		tn.advance(t, now) // queues the next one
		if sent == 0 || count(t, db, `SELECT COUNT(*) FROM outbox`) == 0 {
			t.Fatalf("%d sent, %d queued before disconnecting; want some of each", sent, count(t, db, `SELECT COUNT(*) FROM outbox`))
		}

		paused := tn.startCampaign(t, campaigns.Audience{Phones: phones[:2]}, 1)
		tn.advance(t, now)
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, paused.ID, campaigns.ActionPause, now); err != nil {
			t.Fatal(err)
		}
		recurring, err := db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: "Daily tip", ChannelID: tn.channel.ID,
			Body: "Tip", Audience: campaigns.Audience{Phones: phones}, OriginType: "campaign", Schedule: "0 9 * * *", RatePerSecond: 10,
			CreatedBy: tn.admin.ID, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, recurring.ID, campaigns.ActionStart, now); err != nil {
			t.Fatal(err)
		}
		elsewhere, err := db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: "Elsewhere", ChannelID: other.ID,
			Body: "Hi", Audience: campaigns.Audience{Phones: phones[:1]}, OriginType: "campaign", RatePerSecond: 1,
			CreatedBy: tn.admin.ID, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, elsewhere.ID, campaigns.ActionStart, now); err != nil {
			t.Fatal(err)
		}

		if err := db.DisconnectChannel(ctx, tn.account.ID, tn.channel.ID, now); err != nil {
			t.Fatal(err)
		}
		for _, c := range []campaigns.Campaign{running, paused, recurring} {
			status, counts := tn.campaignCounts(t, c.ID)
			if status != campaigns.StatusCancelled || counts.Queued != 0 {
				t.Errorf("campaign %q after disconnecting: %s with counts %+v; want cancelled, nothing queued", c.Name, status, counts)
			}
		}
		if _, counts := tn.campaignCounts(t, running.ID); counts != (campaigns.Counts{Recipients: 4, Sent: sent, Cancelled: 4 - sent}) {
			t.Errorf("running campaign's counts = %+v; want %d sent, the rest cancelled", counts, sent)
		}
		if got, err := db.GetCampaign(ctx, tn.account.ID, recurring.ID); err != nil || got.NextRunAt != nil {
			t.Errorf("recurring campaign after disconnecting: next run %v, %v; want none", got.NextRunAt, err)
		}
		if status, _ := tn.campaignCounts(t, elsewhere.ID); status == campaigns.StatusCancelled {
			t.Errorf("another channel's campaign was cancelled")
		}

		for _, at := range []time.Time{now.Add(time.Second), now.Add(48 * time.Hour)} {
			tn.advance(t, at)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE channel_id = ?`, tn.channel.ID); n != 0 {
			t.Errorf("%d texts queued on the disconnected channel", n)
		}
		if runs := tn.runsOf(t, recurring.ID); len(runs) != 0 {
			t.Errorf("%d runs of a recurring campaign of a disconnected channel", len(runs))
		}
	})
}

// A campaign still running on a channel disconnected before campaigns were
// cancelled with their channel is cancelled at its next batch, not sent.
func TestCampaignOfADisconnectedChannelIsCancelled(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		c := tn.startCampaign(t, campaigns.Audience{Phones: []string{"+16285550201", "+16285550202"}}, 1)
		if _, err := db.SQL().ExecContext(ctx, db.SQL().Rebind(`UPDATE channels SET disconnected_at = ? WHERE id = ?`),
			t0.UnixMilli(), tn.channel.ID); err != nil {
			t.Fatal(err)
		}
		tn.advance(t, t0.Add(time.Second))
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d texts queued on a disconnected channel", n)
		}
		if status, counts := tn.campaignCounts(t, c.ID); status != campaigns.StatusCancelled || counts.Queued != 0 {
			t.Errorf("campaign: %s with counts %+v; want cancelled, nothing queued", status, counts)
		}
	})
}

// A text whose sender crashed mid-send on a channel disconnected since is
// reclaimed saying so; failed for that reason, its recipient is cancelled.
func TestReclaimedTextOfADisconnectedChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		c := tn.startCampaign(t, campaigns.Audience{Phones: []string{"+16285550301"}}, 1)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		if it := claimOne(t, db, now); it.ChannelDisconnected {
			t.Errorf("a connected channel's text claimed as disconnected")
		}
		if err := db.DisconnectChannel(ctx, tn.account.ID, tn.channel.ID, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		it := claimOne(t, db, now.Add(2*lease)) // the sender crashed: its lease expired
		if !it.Reclaimed || !it.ChannelDisconnected {
			t.Fatalf("reclaimed item: Reclaimed %v, ChannelDisconnected %v; want both", it.Reclaimed, it.ChannelDisconnected)
		}
		if err := db.MarkSkipped(ctx, it, campaigns.HoldChannelDisconnected, now.Add(2*lease)); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Status string  `db:"status"`
			Reason *string `db:"error_reason"`
		}
		if err := db.SQL().GetContext(ctx, &m, db.SQL().Rebind(`SELECT status, error_reason FROM messages WHERE id = ?`), it.MessageID); err != nil {
			t.Fatal(err)
		}
		if m.Status != "failed" || m.Reason == nil || *m.Reason != conversations.CodeChannelDisconnected {
			t.Errorf("text = %s (%v); want failed (channel_disconnected)", m.Status, m.Reason)
		}
		if _, counts := tn.campaignCounts(t, c.ID); counts != (campaigns.Counts{Recipients: 1, Cancelled: 1}) {
			t.Errorf("counts = %+v; want the one recipient cancelled", counts)
		}
	})
}

// A new token reaches every connected channel of the account on the same
// carrier account, which signs all their webhooks with it; other carrier
// accounts and other tenants' channels keep theirs.
func TestTokenRotationReachesTheCarrierAccountsChannels(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		sid := newSID("AC")
		a := newTenant(t, db, sid, bizA)
		sibling := a.addChannel(t, conversations.Channel{CarrierAccountID: sid, PhoneNumber: bizA2})
		service := a.addChannel(t, conversations.Channel{CarrierAccountID: sid, MessagingServiceSID: newSID("MG")})
		gone := a.addChannel(t, conversations.Channel{CarrierAccountID: sid, PhoneNumber: "+14155550109"})
		if err := db.DisconnectChannel(ctx, a.account.ID, gone.ID, t0); err != nil {
			t.Fatal(err)
		}
		elsewhere := a.addChannel(t, conversations.Channel{CarrierAccountID: newSID("AC"), PhoneNumber: bizA2})
		b := newTenant(t, db, sid, "+14155550108") // claimed before channels were verified
		// Read once so that kept routes would show the old token.
		if _, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sid, bizA2, ""); err != nil {
			t.Fatal(err)
		}

		token := "rotated-token"
		if _, err := db.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{AuthToken: &token}); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []conversations.Channel{a.channel, sibling, service} {
			if got, err := db.GetChannel(ctx, a.account.ID, ch.ID); err != nil || got.AuthToken != token {
				t.Errorf("channel %s after rotating: token %q, %v; want the new one", ch.PhoneNumber+ch.MessagingServiceSID, got.AuthToken, err)
			}
		}
		if route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sid, bizA2, ""); err != nil || route.Channel.AuthToken != token {
			t.Errorf("sibling's inbound route: %q, %v; want the new token", route.Channel.AuthToken, err)
		}
		for _, ch := range []conversations.Channel{gone, elsewhere, b.channel} {
			if got, err := db.GetChannel(ctx, ch.AccountID, ch.ID); err != nil || got.AuthToken != ch.AuthToken {
				t.Errorf("channel %d: token %q, %v; want its own %q", ch.ID, got.AuthToken, err, ch.AuthToken)
			}
		}
	})
}

// The channel holding a number or service is found whoever's it is; a
// claim the carrier refused is released unless its token changed since.
func TestReleaseClaimedChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		sid := newSID("AC")
		svc := newSID("MG")
		b := newTenant(t, db, sid, bizA)
		claimedService := b.addChannel(t, conversations.Channel{CarrierAccountID: sid, MessagingServiceSID: svc})
		queued := b.queueHelp(t, alice)
		mine := conversations.Channel{Carrier: conversations.CarrierTwilio, CarrierAccountID: sid, PhoneNumber: bizA}
		holder, err := db.ChannelHolding(ctx, mine)
		if err != nil || holder.ID != b.channel.ID {
			t.Fatalf("holder of the number: %+v, %v; want channel %d", holder, err, b.channel.ID)
		}
		mine.MessagingServiceSID = svc
		if holder, err := db.ChannelHolding(ctx, mine); err != nil || holder.ID != claimedService.ID {
			t.Errorf("holder of the service: %+v, %v; want channel %d", holder, err, claimedService.ID)
		}

		stale := b.channel
		stale.AuthToken = "since-rotated"
		if err := db.ReleaseClaimedChannel(ctx, stale, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetChannel(ctx, b.account.ID, b.channel.ID); !got.Connected() {
			t.Fatal("released a channel whose token changed since it was checked")
		}
		if err := db.ReleaseClaimedChannel(ctx, b.channel, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetChannel(ctx, b.account.ID, b.channel.ID); got.Connected() {
			t.Error("the refused claim is still connected")
		}
		if m := getMessage(t, db, b.account.ID, queued.ConversationID, queued.ID); m.ErrorReason != conversations.CodeChannelDisconnected {
			t.Errorf("the claim's queued text: %s (%q); want failed (channel_disconnected)", m.Status, m.ErrorReason)
		}
		mine.MessagingServiceSID = ""
		_, err = db.ChannelHolding(ctx, mine)
		wantKind(t, err, parley.ENOTFOUND)
	})
}

// A text the dispatcher holds while its channel is disconnected misses the
// disconnect's sweep of queued texts; when the dispatcher puts it back (a
// throttle, a retry) it fails instead of waiting in the queue.
func TestATextPutBackAfterADisconnectFails(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		tn.startCampaign(t, campaigns.Audience{Phones: []string{"+16285550111"}}, 1)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		items := claim(t, db, now, 10)
		if len(items) != 1 {
			t.Fatalf("claimed %d texts, want 1", len(items))
		}
		if err := db.DisconnectChannel(ctx, tn.account.ID, tn.channel.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := db.Defer(ctx, items[0], now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d texts left in the outbox of a disconnected channel", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE id = ? AND status = 'failed' AND error_reason = ?`,
			items[0].MessageID, conversations.CodeChannelDisconnected); n != 1 {
			t.Errorf("the text put back is not failed as channel_disconnected")
		}
	})
}
