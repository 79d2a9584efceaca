package store_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// A receipt moves a text only when it was verified with the token the
// text was sent with: a channel another tenant claimed under the same
// carrier account (before channels were verified) cannot forge it, now or
// before the text's carrier id is recorded. Another channel of the same
// carrier account holding the same token may.
func TestApplyStatusSignedByAnotherChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		claimed := b.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2, AuthToken: "b-token"})
		receipt := func(ch conversations.Channel, sid string, st conversations.MessageStatus) error {
			_, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: ch.ID, Carrier: conversations.CarrierTwilio,
				CarrierAccountID: sidA, CarrierMessageID: sid, Status: st, At: t0.Add(time.Minute)})
			return err
		}

		sent := a.queueHelp(t, alice)
		sendAs(t, db, "SMsent", t0.Add(time.Second))
		wantKind(t, receipt(claimed, "SMsent", conversations.MessageFailed), parley.EFORBIDDEN)
		if m := getMessage(t, db, a.account.ID, sent.ConversationID, sent.ID); m.Status != conversations.MessageSending {
			t.Errorf("after a forged receipt: %s; want sending", m.Status)
		}
		sibling := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: "+14155550102"})
		if err := receipt(sibling, "SMsent", conversations.MessageDelivered); err != nil {
			t.Fatalf("a receipt verified by a channel with the same token: %v", err)
		}
		if m := getMessage(t, db, a.account.ID, sent.ConversationID, sent.ID); m.Status != conversations.MessageDelivered {
			t.Errorf("after a genuine receipt: %s; want delivered", m.Status)
		}

		early := a.queueHelp(t, bob)
		it := claimOne(t, db, t0.Add(2*time.Second))
		wantKind(t, receipt(claimed, "SMearly", conversations.MessageFailed), parley.ENOTFOUND)
		wantKind(t, receipt(a.channel, "SMearly", conversations.MessageSent), parley.ENOTFOUND)
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMearly", Status: "sending"}, t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if m := getMessage(t, db, a.account.ID, early.ConversationID, early.ID); m.Status != conversations.MessageSent {
			t.Errorf("early receipts applied: %s; want sent (the genuine one), not failed (the forged one)", m.Status)
		}
	})
}

func TestUpdateChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		sales, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: a.account.ID, Name: "Sales", Kind: conversations.InboxSales, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		// Read once so that a kept route would show the old token.
		if _, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, ""); err != nil {
			t.Fatal(err)
		}
		token, mps, optout := "rotated-token", 2.5, true
		got, err := db.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{AuthToken: &token, InboxID: &sales.ID,
			MessagesPerSecond: &mps, CarrierHandlesOptOut: &optout})
		if err != nil {
			t.Fatalf("UpdateChannel: %v", err)
		}
		stored, err := db.GetChannel(ctx, a.account.ID, a.channel.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []conversations.Channel{got, stored} {
			if c.AuthToken != token || c.InboxID != sales.ID || c.MessagesPerSecond != mps || !c.CarrierHandlesOptOut ||
				c.PhoneNumber != bizA || c.CarrierAccountID != sidA {
				t.Errorf("channel after the patch = %+v", c)
			}
		}
		route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
		if err != nil || route.Channel.AuthToken != token {
			t.Errorf("inbound route after the patch: %+v, %v; want the new token", route.Channel, err)
		}

		// Fields left out stay.
		if got, err = db.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{}); err != nil || got.AuthToken != token || got.MessagesPerSecond != mps {
			t.Errorf("empty patch: %+v, %v", got, err)
		}
		_, err = db.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{InboxID: &b.inbox.ID})
		wantKind(t, err, parley.EINVALID)
		_, err = db.UpdateChannel(ctx, b.account.ID, a.channel.ID, conversations.ChannelPatch{AuthToken: &token})
		wantKind(t, err, parley.ENOTFOUND)
		if err := db.DisconnectChannel(ctx, a.account.ID, a.channel.ID, t0); err != nil {
			t.Fatal(err)
		}
		_, err = db.UpdateChannel(ctx, a.account.ID, a.channel.ID, conversations.ChannelPatch{AuthToken: &token})
		wantKind(t, err, parley.ECONFLICT, conversations.CodeChannelDisconnected)
	})
}

// Disconnecting a channel stops its webhooks and its sending, fails what
// it still had queued, and keeps its history; its number can be connected
// again.
func TestDisconnectChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		queued := a.queueHelp(t, alice)
		wantKind(t, db.DisconnectChannel(ctx, b.account.ID, a.channel.ID, t0), parley.ENOTFOUND)

		at := t0.Add(time.Minute)
		if err := db.DisconnectChannel(ctx, a.account.ID, a.channel.ID, at); err != nil {
			t.Fatalf("DisconnectChannel: %v", err)
		}
		if err := db.DisconnectChannel(ctx, a.account.ID, a.channel.ID, at.Add(time.Minute)); err != nil {
			t.Fatalf("disconnecting twice: %v", err)
		}
		ch, err := db.GetChannel(ctx, a.account.ID, a.channel.ID)
		if err != nil || ch.Connected() || !ch.DisconnectedAt.Equal(at) {
			t.Errorf("channel after disconnecting = %+v, %v", ch, err)
		}
		_, err = db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.StatusRoutes(ctx, conversations.CarrierTwilio, sidA)
		wantKind(t, err, parley.ENOTFOUND)

		// The history stays readable; what was queued failed.
		m := getMessage(t, db, a.account.ID, queued.ConversationID, queued.ID)
		if m.Status != conversations.MessageFailed || m.ErrorReason != conversations.CodeChannelDisconnected {
			t.Errorf("queued text after disconnecting: %s (%q); want failed (channel_disconnected)", m.Status, m.ErrorReason)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d texts still in the outbox", n)
		}
		if _, err := db.GetConversation(ctx, a.account.ID, queued.ConversationID); err != nil {
			t.Errorf("conversation of a disconnected channel: %v", err)
		}

		// Nothing new is queued on it.
		r := conversations.Reply{AccountID: a.account.ID, ConversationID: queued.ConversationID, Author: a.admin, Body: "Still there?", At: at}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		_, err = db.QueueReply(ctx, r)
		wantKind(t, err, parley.ECONFLICT, conversations.CodeChannelDisconnected)
		_, err = db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: a.account.ID, Sender: a.admin, ChannelID: a.channel.ID,
			Body: "Hi", At: at}, []string{bob})
		wantKind(t, err, parley.ECONFLICT, conversations.CodeChannelDisconnected)
		_, err = db.CreateCampaign(ctx, campaigns.Campaign{AccountID: a.account.ID, Name: "Late", ChannelID: a.channel.ID, Body: "Hi",
			Audience: campaigns.Audience{Phones: []string{bob}}, OriginType: "campaign", CreatedBy: a.admin.ID, CreatedAt: at, UpdatedAt: at})
		wantKind(t, err, parley.ECONFLICT, conversations.CodeChannelDisconnected)
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d texts queued on a disconnected channel", n)
		}

		// The number may be connected again, and then receives.
		again := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA})
		a.channel = again
		if res := a.receive(t, text{from: alice, body: "back again"}); res.Conversation.ChannelID != again.ID {
			t.Errorf("text after reconnecting went to channel %d; want %d", res.Conversation.ChannelID, again.ID)
		}
	})
}

// A text of a channel disconnected while it was being sent, put back for
// a retry, fails when it is next claimed instead of going out.
func TestClaimFailsTextsOfADisconnectedChannel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		queued := a.queueHelp(t, alice)
		it := claimOne(t, db, t0.Add(time.Second))
		if err := db.DisconnectChannel(ctx, a.account.ID, a.channel.ID, t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkRetry(ctx, it, t0.Add(3*time.Second), "carrier busy", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, db, t0.Add(time.Minute), 10); len(got) != 0 {
			t.Errorf("claimed %d texts of a disconnected channel", len(got))
		}
		m := getMessage(t, db, a.account.ID, queued.ConversationID, queued.ID)
		if m.Status != conversations.MessageFailed || m.ErrorReason != conversations.CodeChannelDisconnected {
			t.Errorf("text = %s (%q); want failed (channel_disconnected)", m.Status, m.ErrorReason)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d texts left in the outbox", n)
		}
	})
}
