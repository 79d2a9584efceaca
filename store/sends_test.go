package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
)

// More phones beside alice and bob.
const (
	carol = "+14155553311"
	dave  = "+14155554422"
	eve   = "+14155556633"
)

// sendRecord is a row of the sends table, as the outbound report reads it.
type sendRecord struct {
	MessageID          int64   `db:"message_id"`
	ConversationID     int64   `db:"conversation_id"`
	ContactID          int64   `db:"contact_id"`
	ChannelID          int64   `db:"channel_id"`
	CampaignID         *int64  `db:"campaign_id"`
	OriginType         string  `db:"origin_type"`
	SentAt             int64   `db:"sent_at"`
	ContactFirstSentAt int64   `db:"contact_first_sent_at"`
	FirstReplyAt       *int64  `db:"first_reply_at"`
	FirstAssignedAt    *int64  `db:"first_assigned_at"`
	FirstAssigneeID    *int64  `db:"first_assignee_id"`
	ClosedEpisodeID    *int64  `db:"closed_episode_id"`
	FinalTagID         *int64  `db:"final_tag_id"`
	FinalTagType       *string `db:"final_tag_type"`
}

// sendsOf reads the account's sends by message id.
func sendsOf(t testing.TB, db *store.DB, accountID parley.ID) map[parley.ID]sendRecord {
	t.Helper()
	var rows []sendRecord
	if err := db.SQL().SelectContext(ctx, &rows, db.SQL().Rebind(`SELECT message_id, conversation_id, contact_id, channel_id, campaign_id,
    origin_type, sent_at, contact_first_sent_at, first_reply_at, first_assigned_at, first_assignee_id, closed_episode_id,
    final_tag_id, final_tag_type FROM sends WHERE account_id = ?`), accountID); err != nil {
		t.Fatalf("read sends: %v", err)
	}
	out := make(map[parley.ID]sendRecord, len(rows))
	for _, r := range rows {
		out[parley.ID(r.MessageID)] = r
	}
	return out
}

// sendOf is the message's send; the test fails when there is none.
func sendOf(t testing.TB, db *store.DB, accountID, msgID parley.ID) sendRecord {
	t.Helper()
	s, ok := sendsOf(t, db, accountID)[msgID]
	if !ok {
		t.Fatalf("message %d made no send", msgID)
	}
	return s
}

// quick queues a quick message from the admin to phone at at.
func (tn *tenant) quick(t testing.TB, phone string, at time.Time) campaigns.QuickSent {
	t.Helper()
	res, err := tn.db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: tn.account.ID, Sender: tn.admin,
		ChannelID: tn.channel.ID, Body: "Your table is ready", At: at}, []string{phone})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("quick message to %s: %+v, %v", phone, res, err)
	}
	return res.Messages[0]
}

// campaignTo starts a campaign to the phones at at and has the carrier
// accept its texts a second later; it returns them by phone.
func (tn *tenant) campaignTo(t testing.TB, at time.Time, phones ...string) map[string]campaigns.OutboxItem {
	t.Helper()
	tn.startCampaign(t, campaigns.Audience{Phones: phones}, len(phones))
	tn.advance(t, at)
	items := claim(t, tn.db, at.Add(time.Second), len(phones)+1)
	if len(items) != len(phones) {
		t.Fatalf("claimed %d campaign texts; want %d", len(items), len(phones))
	}
	out := map[string]campaigns.OutboxItem{}
	for _, it := range items {
		if err := tn.db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending"}, at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		out[it.Text.To] = it
	}
	return out
}

// assign sets the conversation's assignee (nil: none) as the admin.
func (tn *tenant) assign(t testing.TB, convID parley.ID, to *parley.ID, at time.Time) {
	t.Helper()
	if _, err := tn.db.Assign(ctx, conversations.Assignment{AccountID: tn.account.ID, ConversationID: convID, Actor: tn.admin,
		AssigneeID: to, At: at}); err != nil {
		t.Fatalf("Assign: %v", err)
	}
}

func msOf(t time.Time) int64 { return t.UnixMilli() }

func atOrNil(p *int64) any {
	if p == nil {
		return nil
	}
	return time.UnixMilli(*p).UTC()
}

// TestSendsAreBusinessTextsTheCarrierAccepted: a quick message and a
// campaign text the carrier accepted are sends, once each however often
// they are marked sent, and so is one the carrier accepted and failed at
// once (it has the text); keyword answers and staff replies are not.
func TestSendsAreBusinessTextsTheCarrierAccepted(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1 := t0.Add(time.Minute)
		q := a.quick(t, alice, t1)
		it := sendAs(t, db, "SMquick", t1)
		// A reclaimed text reconciled at the carrier is marked sent again.
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMquick", Status: "sent"}, t1.Add(time.Minute)); err != nil {
			t.Fatalf("MarkSent again: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM sends WHERE message_id = ?`, q.MessageID); n != 1 {
			t.Fatalf("%d sends of the quick message; want 1", n)
		}
		s := sendOf(t, db, a.account.ID, q.MessageID)
		if s.OriginType != "quick_message" || s.CampaignID != nil || s.SentAt != msOf(t1) || parley.ID(s.ConversationID) != q.ConversationID ||
			parley.ID(s.ChannelID) != a.channel.ID || s.ContactFirstSentAt != msOf(t1) {
			t.Errorf("quick message's send = %+v; want quick_message at %v in conversation %d", s, t1, q.ConversationID)
		}
		conv, err := db.GetConversation(ctx, a.account.ID, q.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if parley.ID(s.ContactID) != conv.ContactID {
			t.Errorf("send's contact = %d; want the conversation's %d", s.ContactID, conv.ContactID)
		}

		camp := a.campaignTo(t, t1, carol)[carol]
		cs := sendOf(t, db, a.account.ID, camp.MessageID)
		if cs.OriginType != "campaign" || cs.CampaignID == nil || parley.ID(*cs.CampaignID) != camp.CampaignID {
			t.Errorf("campaign text's send = %+v; want origin campaign of campaign %d", cs, camp.CampaignID)
		}

		// A staff reply in alice's conversation.
		reply, err := db.QueueReply(ctx, conversations.Reply{AccountID: a.account.ID, ConversationID: q.ConversationID, Author: a.admin,
			Body: "See you soon", At: t1.Add(2 * time.Minute)})
		if err != nil {
			t.Fatalf("QueueReply: %v", err)
		}
		sendAs(t, db, newSID("SM"), t1.Add(2*time.Minute))
		// A keyword answer to bob's HELP.
		help := a.queueHelp(t, bob)
		sendAs(t, db, newSID("SM"), t1.Add(3*time.Minute))
		// The confirmation of eve's STOP.
		stop := a.receive(t, text{from: eve, body: "STOP", at: t1.Add(3 * time.Minute)})
		if stop.Reply == nil {
			t.Fatal("STOP queued no confirmation")
		}
		sendAs(t, db, newSID("SM"), t1.Add(3*time.Minute))
		// A quick message to dave the carrier took and failed at once.
		failed := a.quick(t, dave, t1.Add(4*time.Minute))
		fit := claimOne(t, db, t1.Add(4*time.Minute))
		if err := db.MarkSent(ctx, fit, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "failed", ErrorCode: 30007}, t1.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		all := sendsOf(t, db, a.account.ID)
		for name, id := range map[string]parley.ID{"staff reply": reply.ID, "keyword answer": help.ID, "opt-out confirmation": stop.Reply.ID} {
			if _, ok := all[id]; ok {
				t.Errorf("the %s made a send", name)
			}
		}
		if _, ok := all[failed.MessageID]; !ok || len(all) != 3 {
			t.Errorf("%d sends (dave's failed text among them: %v); want the two quick messages and the campaign text", len(all), ok)
		}
	})
}

// TestSendsContactFirstSent: every send carries its contact's first send,
// however many came after it. On PostgreSQL a contact who has one is not
// written again by a later send (its row version stays): a campaign to
// customers texted before left a dead row of each.
func TestSendsContactFirstSent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1, t2 := t0.Add(time.Hour), t0.Add(48*time.Hour)
		first := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		version := func(phone string) string {
			if db.Dialect() != "postgres" {
				return ""
			}
			var v string
			if err := db.SQL().QueryRowContext(ctx, `SELECT c.xmin::text FROM contacts c JOIN contact_phones p ON p.contact_id = c.id
WHERE c.account_id = $1 AND p.phone = $2`, int64(a.account.ID), phone).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		aliceBefore := version(alice)
		later := a.campaignTo(t, t2, alice, bob)
		if now := version(alice); now != aliceBefore {
			t.Errorf("alice's contact row rewritten by her second send (version %s, was %s)", now, aliceBefore)
		}
		aliceLater := sendOf(t, db, a.account.ID, later[alice].MessageID)
		if aliceLater.ContactFirstSentAt != msOf(t1) {
			t.Errorf("alice's campaign send has contact_first_sent_at %v; want her quick message's %v", atOrNil(&aliceLater.ContactFirstSentAt), t1)
		}
		if s := sendOf(t, db, a.account.ID, first.MessageID); s.ContactFirstSentAt != msOf(t1) {
			t.Errorf("alice's first send has contact_first_sent_at %v; want %v", atOrNil(&s.ContactFirstSentAt), t1)
		}
		bobSend := sendOf(t, db, a.account.ID, later[bob].MessageID)
		if bobSend.ContactFirstSentAt != bobSend.SentAt {
			t.Errorf("bob's first send has contact_first_sent_at %v; want its own time %v", atOrNil(&bobSend.ContactFirstSentAt), atOrNil(&bobSend.SentAt))
		}
	})
}

// planAt is plan for a text sent at at.
func (tn *tenant) planAt(t testing.TB, from, body string, at time.Time) conversations.IngestPlan {
	t.Helper()
	p := tn.plan(t, from, body, newSID("SM"))
	p.At = at
	return p
}

// TestSendsFirstReply: the contact's first text after a send is its
// reply, whether it came alone or in a batch; a text before the send and
// one after the widest reply window are not.
func TestSendsFirstReply(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.receive(t, text{from: alice, body: "Are you open today?", at: t0})
		t1 := t0.Add(time.Hour)
		sent := a.campaignTo(t, t1, alice, bob, carol)
		if s := sendOf(t, db, a.account.ID, sent[alice].MessageID); s.FirstReplyAt != nil {
			t.Errorf("alice's text before the send counted as a reply at %v", atOrNil(s.FirstReplyAt))
		}
		t2, t3 := t1.Add(time.Hour), t1.Add(2*time.Hour)
		a.receive(t, text{from: alice, body: "Yes please", at: t2})
		a.receive(t, text{from: alice, body: "And tomorrow?", at: t3})
		if s := sendOf(t, db, a.account.ID, sent[alice].MessageID); s.FirstReplyAt == nil || *s.FirstReplyAt != msOf(t2) {
			t.Errorf("alice's send replied at %v; want her first reply %v", atOrNil(s.FirstReplyAt), t2)
		}
		// bob replies in a batch with a stranger's first text.
		_, errs := db.IngestBatch(ctx, []conversations.IngestPlan{a.planAt(t, bob, "Sure", t3), a.planAt(t, dave, "Hello?", t3)})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("IngestBatch: %v", err)
			}
		}
		if s := sendOf(t, db, a.account.ID, sent[bob].MessageID); s.FirstReplyAt == nil || *s.FirstReplyAt != msOf(t3) {
			t.Errorf("bob's send replied at %v; want his batched reply %v", atOrNil(s.FirstReplyAt), t3)
		}
		late := t1.Add(reports.MaxReplyWindow + time.Hour)
		a.receive(t, text{from: carol, body: "Still on?", at: late})
		if s := sendOf(t, db, a.account.ID, sent[carol].MessageID); s.FirstReplyAt != nil {
			t.Errorf("carol's reply after the widest window marked her send at %v", atOrNil(s.FirstReplyAt))
		}
	})
}

// TestSendsFirstAssignment: a send into an assigned conversation is
// assigned when sent; one into an unassigned conversation at its first
// assignment after it (by an admin or a staff reply), which later
// reassignments do not move; an assignment after the widest window does
// not count.
func TestSendsFirstAssignment(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1 := t0.Add(time.Hour)
		q := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		s := sendOf(t, db, a.account.ID, q.MessageID)
		if s.FirstAssignedAt == nil || *s.FirstAssignedAt != msOf(t1) || s.FirstAssigneeID == nil || parley.ID(*s.FirstAssigneeID) != a.admin.ID {
			t.Errorf("quick message into a conversation assigned to the sender: assigned at %v to %v; want at the send to %d",
				atOrNil(s.FirstAssignedAt), s.FirstAssigneeID, a.admin.ID)
		}

		sent := a.campaignTo(t, t1, bob, carol, dave)
		bobSend := sendOf(t, db, a.account.ID, sent[bob].MessageID)
		if bobSend.FirstAssignedAt != nil {
			t.Fatalf("campaign text into an unassigned conversation assigned at %v", atOrNil(bobSend.FirstAssignedAt))
		}
		t2, t3 := t1.Add(time.Hour), t1.Add(2*time.Hour)
		conv := parley.ID(bobSend.ConversationID)
		a.assign(t, conv, &a.admin.ID, t2)
		a.assign(t, conv, nil, t2.Add(time.Minute))
		a.assign(t, conv, &a.admin.ID, t3)
		bobSend = sendOf(t, db, a.account.ID, sent[bob].MessageID)
		if bobSend.FirstAssignedAt == nil || *bobSend.FirstAssignedAt != msOf(t2) || bobSend.FirstAssigneeID == nil || parley.ID(*bobSend.FirstAssigneeID) != a.admin.ID {
			t.Errorf("bob's send assigned at %v to %v; want the first assignment at %v to %d", atOrNil(bobSend.FirstAssignedAt), bobSend.FirstAssigneeID, t2, a.admin.ID)
		}

		// A staff reply assigns the conversation to its author.
		carolConv := parley.ID(sendOf(t, db, a.account.ID, sent[carol].MessageID).ConversationID)
		if _, err := db.QueueReply(ctx, conversations.Reply{AccountID: a.account.ID, ConversationID: carolConv, Author: a.admin,
			Body: "Following up", At: t3}); err != nil {
			t.Fatalf("QueueReply: %v", err)
		}
		if s := sendOf(t, db, a.account.ID, sent[carol].MessageID); s.FirstAssignedAt == nil || *s.FirstAssignedAt != msOf(t3) {
			t.Errorf("carol's send assigned at %v; want the staff reply's %v", atOrNil(s.FirstAssignedAt), t3)
		}

		daveConv := parley.ID(sendOf(t, db, a.account.ID, sent[dave].MessageID).ConversationID)
		a.assign(t, daveConv, &a.admin.ID, t1.Add(reports.MaxReplyWindow+time.Hour))
		if s := sendOf(t, db, a.account.ID, sent[dave].MessageID); s.FirstAssignedAt != nil {
			t.Errorf("an assignment after the widest window marked dave's send at %v", atOrNil(s.FirstAssignedAt))
		}
	})
}

// TestSendsFirstClosingEpisode: a send is classified by the first episode
// closed after it, with that episode's final tag, which a reopen and a
// later close with another tag do not change; a send after the reopen is
// classified by the later close.
func TestSendsFirstClosingEpisode(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		lost := a.newTag(t, "Lost", conversations.TagNegative)
		t1 := t0.Add(time.Hour)
		first := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		conv := first.ConversationID
		if s := sendOf(t, db, a.account.ID, first.MessageID); s.ClosedEpisodeID != nil {
			t.Fatalf("a send before any close has closed episode %d", *s.ClosedEpisodeID)
		}
		a.mustAct(t, conv, conversations.ActionResolve, sale.ID, t1.Add(time.Hour))
		a.mustAct(t, conv, conversations.ActionReopen, 0, t1.Add(2*time.Hour))
		second := a.quick(t, alice, t1.Add(3*time.Hour))
		sendAs(t, db, newSID("SM"), t1.Add(3*time.Hour))
		a.mustAct(t, conv, conversations.ActionClose, lost.ID, t1.Add(4*time.Hour))

		eps, err := db.ListEpisodes(ctx, a.account.ID, conv)
		if err != nil || len(eps) != 2 {
			t.Fatalf("episodes = %+v, %v; want two", eps, err)
		}
		want := []struct {
			name string
			msg  parley.ID
			ep   conversations.Episode
			tag  conversations.Tag
		}{{"first", first.MessageID, eps[0], sale}, {"second", second.MessageID, eps[1], lost}}
		for _, w := range want {
			s := sendOf(t, db, a.account.ID, w.msg)
			if s.ClosedEpisodeID == nil || parley.ID(*s.ClosedEpisodeID) != w.ep.ID || s.FinalTagID == nil || parley.ID(*s.FinalTagID) != w.tag.ID ||
				s.FinalTagType == nil || *s.FinalTagType != string(w.tag.Type) {
				t.Errorf("%s send closed by episode %v with tag %v (%v); want episode %d with %s (%s)", w.name, s.ClosedEpisodeID, s.FinalTagID,
					s.FinalTagType, w.ep.ID, w.tag.Name, w.tag.Type)
			}
		}
	})
}

// TestSeededSends: the dev seed's sends agree with its messages,
// conversations and episodes as the store would have kept them, and give
// the outbound report something to show: every origin type, replies and
// silence, assigned and not, sales.
func TestSeededSends(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, res := seededTenant(t, db, devdb.SeedSpec{Conversations: 600, Messages: 6000, Agents: 4, Seed: 3})
		acc, ch := a.account.ID, res.ChannelID
		sends := count(t, db, `SELECT COUNT(*) FROM sends WHERE channel_id = ?`, ch)
		if want := count(t, db, `SELECT COUNT(*) FROM messages WHERE channel_id = ? AND direction = 'outbound'
AND (campaign_id IS NOT NULL OR author_id IS NOT NULL)`, ch); sends != want || sends < 400 {
			t.Fatalf("%d seeded sends of %d campaign texts and quick messages; want all, some hundreds", sends, want)
		}
		if n := count(t, db, `SELECT COUNT(DISTINCT conversation_id) FROM sends WHERE channel_id = ?`, ch); n != 200 {
			t.Errorf("sends in %d conversations; want one in three of 600", n)
		}
		for _, origin := range []string{"campaign", "flow", "template", "webhook", "quick_message"} {
			if n := count(t, db, `SELECT COUNT(*) FROM sends WHERE channel_id = ? AND origin_type = ?`, ch, origin); n == 0 {
				t.Errorf("no %s sends", origin)
			}
		}
		for what, q := range map[string]string{
			"replied":            `first_reply_at IS NOT NULL`,
			"unreplied":          `first_reply_at IS NULL`,
			"assigned":           `first_assigned_at IS NOT NULL`,
			"unassigned":         `first_assigned_at IS NULL`,
			"sale":               `final_tag_type = 'sale'`,
			"closed without tag": `closed_episode_id IS NOT NULL AND final_tag_id IS NULL`,
			"not closed":         `closed_episode_id IS NULL`,
		} {
			if n := count(t, db, `SELECT COUNT(*) FROM sends WHERE channel_id = ? AND `+q, ch); n == 0 {
				t.Errorf("no %s sends", what)
			}
		}
		for what, q := range map[string]string{
			"a reply that is not the contact's first text after the send": `SELECT COUNT(*) FROM sends s WHERE s.channel_id = ? AND
COALESCE(s.first_reply_at, 0) <> COALESCE((SELECT MIN(r.created_at) FROM messages r WHERE r.conversation_id = s.conversation_id
    AND r.direction = 'inbound' AND r.created_at >= s.sent_at), 0)`,
			"an assignee the conversation does not have": `SELECT COUNT(*) FROM sends s JOIN conversations cv ON cv.id = s.conversation_id
WHERE s.channel_id = ? AND COALESCE(s.first_assignee_id, 0) <> COALESCE(cv.assignee_id, 0)`,
			"a closed episode other than the first closed after the send": `SELECT COUNT(*) FROM sends s WHERE s.channel_id = ? AND
COALESCE(s.closed_episode_id, 0) <> COALESCE((SELECT MIN(e.id) FROM episodes e WHERE e.conversation_id = s.conversation_id AND e.closed_at >= s.sent_at), 0)`,
			"a final tag other than its episode's": `SELECT COUNT(*) FROM sends s JOIN episodes e ON e.id = s.closed_episode_id
WHERE s.channel_id = ? AND COALESCE(s.final_tag_id, 0) <> COALESCE(e.final_tag_id, 0)`,
			"a contact's first send that is not its first": `SELECT COUNT(*) FROM sends s JOIN contacts c ON c.id = s.contact_id
WHERE s.channel_id = ? AND (s.contact_first_sent_at <> c.first_sent_at
    OR c.first_sent_at <> (SELECT MIN(s2.sent_at) FROM sends s2 WHERE s2.contact_id = c.id))`,
			"a conversation without its one open episode, or closed with one": `SELECT COUNT(*) FROM conversations cv WHERE cv.channel_id = ? AND
(SELECT COUNT(*) FROM episodes e WHERE e.conversation_id = cv.id AND e.closed_at IS NULL) <> CASE WHEN cv.status IN ('resolved', 'closed') THEN 0 ELSE 1 END`,
			"a conversation whose final tag is not its last closed episode's": `SELECT COUNT(*) FROM conversations cv WHERE cv.channel_id = ? AND
COALESCE(cv.final_tag_id, 0) <> COALESCE((SELECT e.final_tag_id FROM episodes e WHERE e.conversation_id = cv.id AND e.closed_at IS NOT NULL
    ORDER BY e.closed_at DESC, e.id DESC LIMIT 1), 0)`,
			"a final tag not on its conversation": `SELECT COUNT(*) FROM conversations cv WHERE cv.channel_id = ? AND cv.final_tag_id IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM conversation_tags ct WHERE ct.conversation_id = cv.id AND ct.tag_id = cv.final_tag_id)`,
		} {
			if n := count(t, db, q, ch); n != 0 {
				t.Errorf("%d seeded rows with %s", n, what)
			}
		}
		// The store goes on from the seeded rows: the contact of an
		// unanswered send texts back.
		var open struct {
			MessageID int64  `db:"message_id"`
			Phone     string `db:"contact_phone"`
			Number    string `db:"phone_number"`
			SID       string `db:"carrier_account_id"`
		}
		if err := db.SQL().GetContext(ctx, &open, db.SQL().Rebind(`SELECT s.message_id, cv.contact_phone, c.phone_number, c.carrier_account_id
FROM sends s JOIN conversations cv ON cv.id = s.conversation_id JOIN channels c ON c.id = s.channel_id
WHERE s.channel_id = ? AND s.first_reply_at IS NULL AND s.sent_at >= ? ORDER BY s.message_id LIMIT 1`), ch, t0.Add(-20*24*time.Hour).UnixMilli()); err != nil {
			t.Fatalf("an unanswered recent send: %v", err)
		}
		a.receive(t, text{from: open.Phone, to: open.Number, carrierAccount: open.SID, body: "Yes, still interested", at: t0})
		if s := sendOf(t, db, acc, parley.ID(open.MessageID)); s.FirstReplyAt == nil || *s.FirstReplyAt != msOf(t0) {
			t.Errorf("the seeded send answered now has first reply %v; want %v", atOrNil(s.FirstReplyAt), t0)
		}
	})
}

// BenchmarkMarkSentCampaignText measures the carrier's acceptance of a
// campaign text, its send included: what a campaign's throughput pays
// per text for the outbound report.
func BenchmarkMarkSentCampaignText(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storetest.MustOpen(b, dialect)
			a := newTenant(b, db, sidA, bizA)
			phones := make([]string, b.N)
			for i := range phones {
				phones[i] = fmt.Sprintf("+1628%07d", 7000000+i)
			}
			a.startCampaign(b, campaigns.Audience{Phones: phones}, 1000)
			var items []campaigns.OutboxItem
			for now := t0; len(items) < b.N; now = now.Add(time.Second) {
				a.advance(b, now)
				items = append(items, claim(b, db, now.Add(time.Second), b.N)...)
			}
			b.ResetTimer()
			for i, it := range items {
				if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: fmt.Sprintf("SMbench%026d", i), Status: "sending"}, t0.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sendLinks are a send's links to its contact's previous sends.
type sendLinks struct {
	MessageID     int64  `db:"message_id"`
	Any           *int64 `db:"prev_sent_at"`
	Channel       *int64 `db:"prev_channel_sent_at"`
	Origin        *int64 `db:"prev_origin_sent_at"`
	ChannelOrigin *int64 `db:"prev_channel_origin_sent_at"`
	Campaign      *int64 `db:"prev_campaign_sent_at"`
}

func linksOf(t testing.TB, db *store.DB, accountID parley.ID) map[int64]sendLinks {
	t.Helper()
	var rows []sendLinks
	if err := db.SQL().SelectContext(ctx, &rows, db.SQL().Rebind(`SELECT message_id, prev_sent_at, prev_channel_sent_at,
    prev_origin_sent_at, prev_channel_origin_sent_at, prev_campaign_sent_at FROM sends WHERE account_id = ?`), accountID); err != nil {
		t.Fatal(err)
	}
	out := map[int64]sendLinks{}
	for _, r := range rows {
		out[r.MessageID] = r
	}
	return out
}

// TestSendsLinkToPrevious: a recorded send links to its contact's latest
// earlier send overall, on its channel, of its origin type, both, and of
// its campaign, as relinking every send in bulk would.
func TestSendsLinkToPrevious(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
		first := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		camp := a.campaignTo(t, t2, alice, bob)[alice]
		second := a.quick(t, alice, t3)
		sendAs(t, db, newSID("SM"), t3)
		links := linksOf(t, db, a.account.ID)
		at := func(tm time.Time) *int64 { v := msOf(tm); return &v }
		sent2 := at(t2.Add(time.Second)) // the campaign's texts are accepted a second later
		want := map[int64]sendLinks{
			int64(first.MessageID): {MessageID: int64(first.MessageID)},
			int64(camp.MessageID):  {MessageID: int64(camp.MessageID), Any: at(t1), Channel: at(t1)},
			int64(second.MessageID): {MessageID: int64(second.MessageID), Any: sent2, Channel: sent2,
				Origin: at(t1), ChannelOrigin: at(t1)},
		}
		for id, w := range want {
			if got := links[id]; !reflect.DeepEqual(got, w) {
				t.Errorf("send %d links %s; want %s", id, showLinks(got), showLinks(w))
			}
		}
		exec(t, db, store.LinkSendsSQL, a.account.ID)
		if relinked := linksOf(t, db, a.account.ID); !reflect.DeepEqual(relinked, links) {
			t.Errorf("relinked in bulk:\n%v\nas recorded:\n%v", relinked, links)
		}
	})
}

func showLinks(l sendLinks) string {
	return fmt.Sprintf("any %v channel %v origin %v channel+origin %v campaign %v",
		atOrNil(l.Any), atOrNil(l.Channel), atOrNil(l.Origin), atOrNil(l.ChannelOrigin), atOrNil(l.Campaign))
}

// TestSendsRecordedLate: a text whose sender crashed is found at the
// carrier only when its item is reclaimed, after the contact replied and
// the thread was resolved with a tag: the send is dated from the attempt
// that reached the carrier and keeps that reply and that close.
func TestSendsRecordedLate(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		t1 := t0.Add(time.Hour)
		q := a.quick(t, alice, t1)
		claimOne(t, db, t1) // the sender crashes holding it
		t2, t3 := t1.Add(30*time.Second), t1.Add(40*time.Second)
		a.receive(t, text{from: alice, body: "Yes, book it", at: t2})
		a.mustAct(t, q.ConversationID, conversations.ActionResolve, sale.ID, t3)
		found := t1.Add(lease + time.Minute)
		it := claimOne(t, db, found)
		if !it.Reclaimed {
			t.Fatalf("the item came back %+v; want it reclaimed", it)
		}
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "delivered"}, found); err != nil {
			t.Fatal(err)
		}
		s := sendOf(t, db, a.account.ID, q.MessageID)
		if s.SentAt != msOf(t1) {
			t.Errorf("the send is dated %v; want the crashed attempt's %v", atOrNil(&s.SentAt), t1)
		}
		if s.FirstReplyAt == nil || *s.FirstReplyAt != msOf(t2) {
			t.Errorf("the send's first reply is %v; want alice's %v", atOrNil(s.FirstReplyAt), t2)
		}
		if s.FinalTagID == nil || parley.ID(*s.FinalTagID) != sale.ID || s.ClosedEpisodeID == nil {
			t.Errorf("the send's closing episode %v with tag %v; want the resolve with Sale", s.ClosedEpisodeID, s.FinalTagID)
		}
	})
}

// sentThenFreed texts phone a quick message at at, has the carrier take
// it, and takes the phone off the contact it made: the phone's thread
// stays that contact's. It returns the text and its thread.
func (tn *tenant) sentThenFreed(t testing.TB, phone string, at time.Time) (campaigns.QuickSent, conversations.Conversation) {
	t.Helper()
	sent := tn.quick(t, phone, at)
	sendAs(t, tn.db, newSID("SM"), at)
	conv, err := tn.db.GetConversation(ctx, tn.account.ID, sent.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	none := []string{}
	if _, err := tn.db.UpdateContact(ctx, tn.account.ID, conv.ContactID, conversations.ContactPatch{Phones: &none}, at); err != nil {
		t.Fatal(err)
	}
	return sent, conv
}

// TestNewContactTakesItsPhonesThreads: a contact created with a phone
// freed from another contact takes the phone's conversations and their
// sends along, as a patch giving it the phone does.
func TestNewContactTakesItsPhonesThreads(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1 := t0.Add(time.Hour)
		toAlice, conv := a.sentThenFreed(t, alice, t1)
		john := newContact(t, db, a.account.ID, "John", alice)
		if got, err := db.GetConversation(ctx, a.account.ID, conv.ID); err != nil || got.ContactID != john.ID {
			t.Errorf("the thread of %s belongs to contact %d (%v); want John (%d), who owns the number now", alice, got.ContactID, err, john.ID)
		}
		if s := sendOf(t, db, a.account.ID, toAlice.MessageID); parley.ID(s.ContactID) != john.ID || s.ContactFirstSentAt != msOf(t1) {
			t.Errorf("the send is contact %d's, first sent %v; want John's (%d), first sent %v",
				s.ContactID, atOrNil(&s.ContactFirstSentAt), john.ID, t1)
		}
	})
}

// TestSendsFollowAMovedPhone: a phone moved to another contact takes its
// conversations' sends along; both contacts' first sends and the links
// between their sends are redone, so that the report counts one person.
func TestSendsFollowAMovedPhone(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		toAlice := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		toBob := a.quick(t, bob, t2)
		sendAs(t, db, newSID("SM"), t2)
		bobs, err := db.GetConversation(ctx, a.account.ID, toBob.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		alices, err := db.GetConversation(ctx, a.account.ID, toAlice.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		none := []string{}
		if _, err := db.UpdateContact(ctx, a.account.ID, alices.ContactID, conversations.ContactPatch{Phones: &none}, t2); err != nil {
			t.Fatal(err)
		}
		phones := []string{bob, alice} // alice's number is bob's second phone
		if _, err := db.UpdateContact(ctx, a.account.ID, bobs.ContactID, conversations.ContactPatch{Phones: &phones}, t2); err != nil {
			t.Fatal(err)
		}
		first, second := sendOf(t, db, a.account.ID, toAlice.MessageID), sendOf(t, db, a.account.ID, toBob.MessageID)
		if parley.ID(first.ContactID) != bobs.ContactID || first.ContactFirstSentAt != msOf(t1) || second.ContactFirstSentAt != msOf(t1) {
			t.Errorf("after the move: sends of contact %d and %d, first sent %v and %v; want both bob's (%d), first sent %v",
				first.ContactID, second.ContactID, atOrNil(&first.ContactFirstSentAt), atOrNil(&second.ContactFirstSentAt), bobs.ContactID, t1)
		}
		if l := linksOf(t, db, a.account.ID)[int64(toBob.MessageID)]; l.Any == nil || *l.Any != msOf(t1) {
			t.Errorf("bob's send links to %v; want the moved send at %v", atOrNil(l.Any), t1)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contacts WHERE account_id = ? AND first_sent_at IS NOT NULL`, a.account.ID); n != 1 {
			t.Errorf("%d contacts have a first send; want bob's alone (alice's contact has no sends left)", n)
		}
	})
}

// TestAFreedPhonesNextContactTakesItsThreads: a phone taken off its
// contact, that texts or is texted again, gets a contact of its own, and
// its threads and their sends go with it, whichever way the text came: a
// text written alone or in a batch, or a campaign's.
func TestAFreedPhonesNextContactTakesItsThreads(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		paths := map[string]func(phone string){
			"alone": func(phone string) {
				if _, err := db.IngestAlone(ctx, a.planAt(t, phone, "It's me again", t2)); err != nil {
					t.Fatal(err)
				}
			},
			"batch": func(phone string) {
				plans := []conversations.IngestPlan{a.planAt(t, phone, "It's me again", t2), a.planAt(t, "+14155558999", "hi", t2)}
				if _, errs := db.IngestBatch(ctx, plans); errs[0] != nil {
					t.Fatal(errs[0])
				}
			},
			"campaign": func(phone string) { a.campaignTo(t, t2, phone) },
		}
		for i, name := range []string{"alone", "batch", "campaign"} {
			phone := fmt.Sprintf("+1415555870%d", i)
			sent, conv := a.sentThenFreed(t, phone, t1)
			paths[name](phone)
			owners, _, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Phone: phone})
			if err != nil || len(owners) != 1 || owners[0].ID == conv.ContactID {
				t.Fatalf("%s: the phone's contacts after its text: %+v, %v; want one, not the former %d", name, owners, err, conv.ContactID)
			}
			owner := owners[0].ID
			if got, err := db.GetConversation(ctx, a.account.ID, conv.ID); err != nil || got.ContactID != owner {
				t.Errorf("%s: the thread of %s shows contact %d (%v); want %d, who owns the number now", name, phone, got.ContactID, err, owner)
			}
			if s := sendOf(t, db, a.account.ID, sent.MessageID); parley.ID(s.ContactID) != owner {
				t.Errorf("%s: the send is contact %d's; want %d's", name, s.ContactID, owner)
			}
		}
	})
}

// TestThreadsAnnounceTheirContactChanged: a thread another contact takes,
// or whose contact is renamed, is announced as conversation.updated
// (contact_changed), so that open inboxes show the name it has now.
func TestThreadsAnnounceTheirContactChanged(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		t1 := t0.Add(time.Hour)
		res := a.receive(t, text{from: alice, body: "Hi"})
		conv := res.Conversation
		announced := func(what string, after int64) int64 {
			t.Helper()
			evs := logOf(t, db, a.account.ID, after)
			for _, e := range evs {
				for _, c := range e.ConversationChanges() {
					if e.Type == events.ConversationUpdated && e.ConversationID == conv.ID && c.Type == string(conversations.EventContactChanged) {
						return evs[len(evs)-1].Seq
					}
				}
			}
			t.Errorf("%s: the log after %d has %v; want conversation %d updated with contact_changed", what, after, types(evs), conv.ID)
			if len(evs) == 0 {
				return after
			}
			return evs[len(evs)-1].Seq
		}
		head := logOf(t, db, a.account.ID, 0)
		pos := head[len(head)-1].Seq
		name := "Alice Liddell"
		if _, err := db.UpdateContact(ctx, a.account.ID, conv.ContactID, conversations.ContactPatch{Name: &name}, t1); err != nil {
			t.Fatal(err)
		}
		pos = announced("renamed", pos)
		none := []string{}
		if _, err := db.UpdateContact(ctx, a.account.ID, conv.ContactID, conversations.ContactPatch{Phones: &none}, t1); err != nil {
			t.Fatal(err)
		}
		if evs := logOf(t, db, a.account.ID, pos); len(evs) != 0 {
			t.Errorf("taking a phone off its contact logged %v; the thread still shows that contact", types(evs))
		}
		newContact(t, db, a.account.ID, "Alice L.", alice)
		announced("taken by a new contact", pos)
	})
}
