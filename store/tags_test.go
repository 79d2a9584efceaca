package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/store"
)

// newTag creates a tag of the tenant.
func (tn *tenant) newTag(t testing.TB, name string, typ conversations.TagType) conversations.Tag {
	t.Helper()
	tag, err := tn.db.CreateTag(ctx, conversations.NewTag{AccountID: tn.account.ID, Name: name, Type: typ, At: t0})
	if err != nil {
		t.Fatalf("CreateTag(%s): %v", name, err)
	}
	return tag
}

func (tn *tenant) tagChange(convID, tagID parley.ID, at time.Time) conversations.TagChange {
	return conversations.TagChange{AccountID: tn.account.ID, ConversationID: convID, TagID: tagID, Actor: tn.admin, At: at}
}

// tag applies a tag as the tenant's admin.
func (tn *tenant) tag(t testing.TB, convID, tagID parley.ID, at time.Time) conversations.Conversation {
	t.Helper()
	c, err := tn.db.TagConversation(ctx, tn.tagChange(convID, tagID, at))
	if err != nil {
		t.Fatalf("TagConversation(%d, %d): %v", convID, tagID, err)
	}
	return c
}

// act applies a lifecycle action as the tenant's admin, with a tag when
// tagID is not zero.
func (tn *tenant) act(convID parley.ID, action conversations.Action, tagID parley.ID, at time.Time) (conversations.Conversation, error) {
	c := conversations.StatusChange{AccountID: tn.account.ID, ConversationID: convID, Actor: tn.admin, Action: action, At: at}
	if tagID != 0 {
		c.TagID = &tagID
	}
	return tn.db.ChangeStatus(ctx, c)
}

func (tn *tenant) mustAct(t testing.TB, convID parley.ID, action conversations.Action, tagID parley.ID, at time.Time) conversations.Conversation {
	t.Helper()
	c, err := tn.act(convID, action, tagID, at)
	if err != nil {
		t.Fatalf("%s %d: %v", action, convID, err)
	}
	return c
}

func tagNames(refs []conversations.TagRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Name
	}
	return strings.Join(names, ",")
}

func refName(r *conversations.TagRef) string {
	if r == nil {
		return "-"
	}
	return r.Name
}

// episodes describes a conversation's episodes as "open" or
// "closed_as:final tag", oldest first.
func (tn *tenant) episodes(t testing.TB, convID parley.ID) string {
	t.Helper()
	eps, err := tn.db.ListEpisodes(ctx, tn.account.ID, convID)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(eps))
	for i, e := range eps {
		if e.ClosedAt == nil {
			out[i] = "open"
			continue
		}
		out[i] = string(e.ClosedAs) + ":" + refName(e.FinalTag)
	}
	return strings.Join(out, " ")
}

func TestTagNamesAndTypes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		_, err := db.CreateTag(ctx, conversations.NewTag{AccountID: a.account.ID, Name: " sALe ", Type: conversations.TagOther, At: t0})
		wantKind(t, err, parley.ECONFLICT, "tag_name_taken")
		_, err = db.CreateTag(ctx, conversations.NewTag{AccountID: a.account.ID, Name: "", Type: "won", At: t0})
		wantField(t, err, parley.EINVALID, "type")

		// Another account may have its own "Sale".
		b := newTenant(t, db, newSID("AC"), bizB)
		b.newTag(t, "sale", conversations.TagSale)

		later := a.newTag(t, "Call back", conversations.TagFollowUp)
		name := "SALE"
		_, err = db.UpdateTag(ctx, a.account.ID, later.ID, conversations.TagPatch{Name: &name, At: t0})
		wantKind(t, err, parley.ECONFLICT, "tag_name_taken")
		// A tag may change its own name's case.
		if got, err := db.UpdateTag(ctx, a.account.ID, sale.ID, conversations.TagPatch{Name: &name, At: t0}); err != nil || got.Name != "SALE" {
			t.Fatalf("rename to its own name in capitals: %+v, %v", got, err)
		}

		// The type changes while unused, and is fixed once applied.
		pos := conversations.TagPositive
		if got, err := db.UpdateTag(ctx, a.account.ID, later.ID, conversations.TagPatch{Type: &pos, At: t0}); err != nil || got.Type != pos {
			t.Fatalf("retype an unused tag: %+v, %v", got, err)
		}
		conv := a.receive(t, text{from: alice, body: "hi"}).Conversation
		a.tag(t, conv.ID, later.ID, t0)
		neg := conversations.TagNegative
		_, err = db.UpdateTag(ctx, a.account.ID, later.ID, conversations.TagPatch{Type: &neg, At: t0})
		wantKind(t, err, parley.ECONFLICT, "tag_type_fixed")
		if got, _ := db.GetTag(ctx, a.account.ID, later.ID); !got.Used || got.Type != pos {
			t.Fatalf("tag after a refused retype = %+v", got)
		}
		_, err = db.GetTag(ctx, b.account.ID, later.ID)
		wantKind(t, err, parley.ENOTFOUND)

		archived := true
		if _, err := db.UpdateTag(ctx, a.account.ID, later.ID, conversations.TagPatch{Archived: &archived, At: t0}); err != nil {
			t.Fatal(err)
		}
		live, _ := db.ListTags(ctx, a.account.ID, false)
		all, _ := db.ListTags(ctx, a.account.ID, true)
		if fmt.Sprint(len(live), len(all)) != "1 2" || all[0].Name != "Call back" || all[1].Name != "SALE" {
			t.Fatalf("live tags %+v, all %+v", live, all)
		}
	})
}

func TestTagConversation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		vip := a.newTag(t, "VIP", conversations.TagPositive)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		conv := a.receive(t, text{from: alice, body: "hi"}).Conversation
		if conv.Tags == nil || len(conv.Tags) != 0 || conv.FinalTag != nil {
			t.Fatalf("a new conversation's tags %v, final %v", conv.Tags, conv.FinalTag)
		}
		a.tag(t, conv.ID, sale.ID, t0.Add(time.Minute))
		got := a.tag(t, conv.ID, vip.ID, t0.Add(2*time.Minute))
		if again := a.tag(t, conv.ID, sale.ID, t0.Add(3*time.Minute)); tagNames(again.Tags) != "Sale,VIP" {
			t.Fatalf("tags after tagging twice = %s", tagNames(again.Tags))
		}
		if tagNames(got.Tags) != "Sale,VIP" {
			t.Fatalf("tags = %s; want the oldest applied first", tagNames(got.Tags))
		}
		applied, err := db.ListConversationTags(ctx, a.account.ID, conv.ID)
		if err != nil || len(applied) != 2 || *applied[0].AppliedBy != a.admin.ID || !applied[0].AppliedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("applied = %+v, %v", applied, err)
		}
		untagged, err := db.UntagConversation(ctx, a.tagChange(conv.ID, sale.ID, t0.Add(4*time.Minute)))
		if err != nil || tagNames(untagged.Tags) != "VIP" {
			t.Fatalf("untag: %s, %v", tagNames(untagged.Tags), err)
		}
		if _, err := db.UntagConversation(ctx, a.tagChange(conv.ID, sale.ID, t0.Add(5*time.Minute))); err != nil {
			t.Fatalf("untag again: %v", err)
		}
		want := []string{"tag_added", "tag_added", "tag_removed"}
		if got := eventTypes(t, db, conv.ID); !slices.Equal(got[len(got)-3:], want) {
			t.Fatalf("activity = %v; want it to end %v", got, want)
		}
		var data string
		if err := db.SQL().GetContext(ctx, &data, db.SQL().Rebind(`SELECT data FROM conversation_events WHERE conversation_id = ? AND type = 'tag_added' ORDER BY id LIMIT 1`), conv.ID); err != nil {
			t.Fatal(err)
		}
		if !jsonHas(data, fmt.Sprintf(`"tag_id":"%d"`, sale.ID), `"tag_name":"Sale"`, `"tag_type":"sale"`) {
			t.Fatalf("tag_added data = %s", data)
		}
		updated := 0
		for _, e := range logOf(t, db, a.account.ID, 0) {
			if e.Type == events.ConversationUpdated && e.ConversationID == conv.ID &&
				(strings.Contains(string(e.Data), "tag_added") || strings.Contains(string(e.Data), "tag_removed")) {
				updated++
			}
		}
		if updated != 3 {
			t.Fatalf("conversation.updated for tagging: %d; want 3 (%v)", updated, types(logOf(t, db, a.account.ID, 0)))
		}

		// An agent tags only what they may act on.
		agent := a.staffUser(t, "agent@example.com", conversations.RoleAgent, false)
		c := a.tagChange(conv.ID, sale.ID, t0)
		c.Actor = agent
		_, err = db.TagConversation(ctx, c)
		wantKind(t, err, parley.EFORBIDDEN)

		// Archived tags are not applied; another account's are not found.
		archived := true
		if _, err := db.UpdateTag(ctx, a.account.ID, vip.ID, conversations.TagPatch{Archived: &archived, At: t0}); err != nil {
			t.Fatal(err)
		}
		other := a.receive(t, text{from: bob, body: "hi"}).Conversation
		_, err = db.TagConversation(ctx, a.tagChange(other.ID, vip.ID, t0))
		wantField(t, err, parley.EINVALID, "tag_id")
		b := newTenant(t, db, newSID("AC"), bizB)
		theirs := b.newTag(t, "Theirs", conversations.TagOther)
		_, err = db.TagConversation(ctx, a.tagChange(other.ID, theirs.ID, t0))
		wantField(t, err, parley.ENOTFOUND, "tag_id")
		_, err = db.TagConversation(ctx, b.tagChange(other.ID, theirs.ID, t0))
		wantKind(t, err, parley.ENOTFOUND)
		// An archived tag stays on the conversations that have it.
		if c := a.conv(t, conv.ID); tagNames(c.Tags) != "VIP" {
			t.Fatalf("after archiving, tags = %s", tagNames(c.Tags))
		}
	})
}

func TestEpisodesFollowTheLifecycle(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		followUp := a.newTag(t, "Call back", conversations.TagFollowUp)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		conv := a.receive(t, text{from: alice, body: "hi"}).Conversation
		if got := a.episodes(t, conv.ID); got != "open" {
			t.Fatalf("a new conversation's episodes: %s", got)
		}
		a.tag(t, conv.ID, sale.ID, t0.Add(time.Minute))
		a.tag(t, conv.ID, followUp.ID, t0.Add(2*time.Minute))
		resolved := a.mustAct(t, conv.ID, conversations.ActionResolve, 0, t0.Add(3*time.Minute))
		if got := a.episodes(t, conv.ID); got != "resolved:Call back" {
			t.Fatalf("after resolve: %s; want the tag applied last", got)
		}
		if refName(resolved.FinalTag) != "Call back" || resolved.FinalTag.Type != conversations.TagFollowUp {
			t.Fatalf("the conversation's final tag = %+v", resolved.FinalTag)
		}
		// Resolved → closed tidies the ended episode: nothing opens or closes.
		a.mustAct(t, conv.ID, conversations.ActionClose, 0, t0.Add(4*time.Minute))
		if got := a.episodes(t, conv.ID); got != "resolved:Call back" {
			t.Fatalf("after close: %s", got)
		}
		// Staff reopen: a new episode; the old one keeps its final tag
		// while tags change.
		a.mustAct(t, conv.ID, conversations.ActionReopen, 0, t0.Add(5*time.Minute))
		if _, err := db.UntagConversation(ctx, a.tagChange(conv.ID, followUp.ID, t0.Add(6*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if got := a.episodes(t, conv.ID); got != "resolved:Call back open" {
			t.Fatalf("after reopen: %s", got)
		}
		if c := a.conv(t, conv.ID); refName(c.FinalTag) != "Call back" || tagNames(c.Tags) != "Sale" {
			t.Fatalf("reopened: final %v, tags %s", c.FinalTag, tagNames(c.Tags))
		}
		// Closing now ends with the only tag left.
		a.mustAct(t, conv.ID, conversations.ActionClose, 0, t0.Add(7*time.Minute))
		// The contact's text reopens it: another episode.
		a.receive(t, text{from: alice, body: "one more thing", at: t0.Add(8 * time.Minute)})
		if got := a.episodes(t, conv.ID); got != "resolved:Call back closed:Sale open" {
			t.Fatalf("after an inbound text: %s", got)
		}
		// Resolving with a tag applies it and ends with it, even one on
		// already and applied earlier than another.
		a.tag(t, conv.ID, followUp.ID, t0.Add(9*time.Minute))
		c := a.mustAct(t, conv.ID, conversations.ActionResolve, sale.ID, t0.Add(10*time.Minute))
		if got := a.episodes(t, conv.ID); got != "resolved:Call back closed:Sale resolved:Sale" {
			t.Fatalf("after resolve with a tag: %s", got)
		}
		if tagNames(c.Tags) != "Sale,Call back" || refName(c.FinalTag) != "Sale" {
			t.Fatalf("resolved with a tag: tags %s, final %v", tagNames(c.Tags), c.FinalTag)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM episodes WHERE conversation_id = ? AND closed_by = ?`, conv.ID, a.admin.ID); n != 3 {
			t.Fatalf("%d episodes closed by the admin; want the 3 closed", n)
		}

		// A new tag on resolve is applied and logged.
		other := a.receive(t, text{from: bob, body: "hi"}).Conversation
		c = a.mustAct(t, other.ID, conversations.ActionClose, followUp.ID, t0.Add(time.Minute))
		if tagNames(c.Tags) != "Call back" || a.episodes(t, other.ID) != "closed:Call back" {
			t.Fatalf("closed with a tag: tags %s, episodes %s", tagNames(c.Tags), a.episodes(t, other.ID))
		}
		if got := eventTypes(t, db, other.ID); !slices.Contains(got, "tag_added") {
			t.Fatalf("activity %v; want tag_added", got)
		}
		// Without tags an episode ends without a final tag.
		third := a.receive(t, text{from: alice2, body: "hi"}).Conversation
		if c := a.mustAct(t, third.ID, conversations.ActionResolve, 0, t0); c.FinalTag != nil || a.episodes(t, third.ID) != "resolved:-" {
			t.Fatalf("untagged resolve: final %v, episodes %s", c.FinalTag, a.episodes(t, third.ID))
		}
	})
}

func TestEpisodeOpensWithAQuickMessagesConversation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		res, err := db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: a.account.ID, Sender: a.admin, ChannelID: a.channel.ID,
			Body: "Your table is ready", At: t0}, []string{bob})
		if err != nil || len(res.Messages) != 1 {
			t.Fatalf("quick message: %+v, %v", res, err)
		}
		if got := a.episodes(t, res.Messages[0].ConversationID); got != "open" {
			t.Fatalf("episodes = %s", got)
		}
	})
}

func TestRequireClosingTag(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		_, err := db.UpdateSettings(ctx, a.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
			s.RequireClosingTag = true
			return s, nil
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		conv := a.receive(t, text{from: alice, body: "hi"}).Conversation
		for _, action := range []conversations.Action{conversations.ActionResolve, conversations.ActionClose} {
			_, err := a.act(conv.ID, action, 0, t0)
			wantField(t, err, parley.EINVALID, "tag_id")
		}
		if c := a.conv(t, conv.ID); c.Status != conversations.StatusNew || a.episodes(t, conv.ID) != "open" {
			t.Fatalf("after refusals: %s, %s", c.Status, a.episodes(t, conv.ID))
		}
		// Snoozing needs no tag.
		if _, err := a.act(conv.ID, conversations.ActionPending, 0, t0); err != nil {
			t.Fatal(err)
		}
		a.mustAct(t, conv.ID, conversations.ActionResolve, sale.ID, t0)
		// Closing what is resolved ends no episode: no tag is asked for.
		a.untag(t, conv.ID, sale.ID)
		a.mustAct(t, conv.ID, conversations.ActionClose, 0, t0)
		// A conversation with a tag on closes without naming one.
		other := a.receive(t, text{from: bob, body: "hi"}).Conversation
		a.tag(t, other.ID, sale.ID, t0)
		if c := a.mustAct(t, other.ID, conversations.ActionClose, 0, t0); refName(c.FinalTag) != "Sale" {
			t.Fatalf("final tag = %v", c.FinalTag)
		}
	})
}

func TestListConversationsByTag(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		bigSale := a.newTag(t, "Big sale", conversations.TagSale)
		nope := a.newTag(t, "Not interested", conversations.TagNegative)
		phones := []string{alice, bob, alice2, "+14155550777"}
		ids := make([]parley.ID, len(phones))
		for i, p := range phones {
			ids[i] = a.receive(t, text{from: p, body: "hi", at: t0.Add(time.Duration(i) * time.Minute)}).Conversation.ID
		}
		// 0: tagged Sale, resolved with it. 1: resolved with Big sale,
		// then reopened and tagged Not interested. 2: tagged Not
		// interested, open. 3: nothing.
		a.mustAct(t, ids[0], conversations.ActionResolve, sale.ID, t0.Add(time.Hour))
		a.mustAct(t, ids[1], conversations.ActionResolve, bigSale.ID, t0.Add(time.Hour))
		a.mustAct(t, ids[1], conversations.ActionReopen, 0, t0.Add(2*time.Hour))
		a.untag(t, ids[1], bigSale.ID)
		a.tag(t, ids[1], nope.ID, t0.Add(2*time.Hour))
		a.tag(t, ids[2], nope.ID, t0.Add(2*time.Hour))

		list := func(f conversations.ConversationFilter) []parley.ID {
			t.Helper()
			f.AccountID = a.account.ID
			got, _, err := db.FindConversations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []parley.ID{}
			for _, c := range got {
				out = append(out, c.ID)
			}
			slices.Sort(out)
			return out
		}
		resolved := []conversations.Status{conversations.StatusResolved}
		for _, c := range []struct {
			name string
			f    conversations.ConversationFilter
			want []parley.ID
		}{
			{"tag", conversations.ConversationFilter{TagID: &nope.ID}, []parley.ID{ids[1], ids[2]}},
			{"tag and status", conversations.ConversationFilter{TagID: &sale.ID, Statuses: resolved}, []parley.ID{ids[0]}},
			{"tag type", conversations.ConversationFilter{TagType: conversations.TagSale}, []parley.ID{ids[0]}},
			{"tag type and status", conversations.ConversationFilter{TagType: conversations.TagNegative,
				Statuses: []conversations.Status{conversations.StatusOpen}}, []parley.ID{ids[1]}},
			{"final tag", conversations.ConversationFilter{FinalTagID: &bigSale.ID}, []parley.ID{ids[1]}},
			{"final tag and status", conversations.ConversationFilter{FinalTagID: &bigSale.ID, Statuses: resolved}, []parley.ID{}},
			{"final tag type", conversations.ConversationFilter{FinalTagType: conversations.TagSale}, []parley.ID{ids[0], ids[1]}},
			{"final tag type and status", conversations.ConversationFilter{FinalTagType: conversations.TagSale, Statuses: resolved},
				[]parley.ID{ids[0]}},
			{"search with a tag", conversations.ConversationFilter{TagID: &nope.ID, Query: "hi"}, []parley.ID{ids[1], ids[2]}},
			{"search with a final tag type", conversations.ConversationFilter{FinalTagType: conversations.TagSale, Query: "hi"},
				[]parley.ID{ids[0], ids[1]}},
			{"search with a final tag and a tag type", conversations.ConversationFilter{FinalTagID: &bigSale.ID,
				TagType: conversations.TagNegative, Query: "hi"}, []parley.ID{ids[1]}},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v; want %v", c.name, got, c.want)
			}
		}
		// A page reads every conversation's tags and final tag.
		page, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID})
		if err != nil {
			t.Fatal(err)
		}
		got := map[parley.ID]string{}
		for _, c := range page {
			got[c.ID] = tagNames(c.Tags) + "/" + refName(c.FinalTag)
		}
		want := map[parley.ID]string{ids[0]: "Sale/Sale", ids[1]: "Not interested/Big sale", ids[2]: "Not interested/-", ids[3]: "/-"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("page tags = %v; want %v", got, want)
		}
	})
}

// untag removes a tag as the tenant's admin.
func (tn *tenant) untag(t testing.TB, convID, tagID parley.ID) {
	t.Helper()
	if _, err := tn.db.UntagConversation(ctx, tn.tagChange(convID, tagID, t0)); err != nil {
		t.Fatalf("UntagConversation: %v", err)
	}
}

// TestEpisodesInAnIngestBatch: texts written together open the episodes
// of the conversations they create and of those they reopen.
func TestEpisodesInAnIngestBatch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		resolved := a.receive(t, text{from: alice, body: "hi"}).Conversation
		a.mustAct(t, resolved.ID, conversations.ActionResolve, sale.ID, t0)
		open := a.receive(t, text{from: alice2, body: "hi"}).Conversation
		const dave = "+14155554321"
		vip := a.newTag(t, "VIP", conversations.TagPositive)
		a.tag(t, a.receive(t, text{from: dave, body: "hi"}).Conversation.ID, vip.ID, t0)
		results, errs := db.IngestBatch(ctx, []conversations.IngestPlan{
			a.plan(t, alice, "back again", newSID("SM")),
			a.plan(t, alice2, "still here", newSID("SM")),
			a.plan(t, bob, "first text", newSID("SM")),
			a.plan(t, dave, "me again", newSID("SM")),
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("text %d: %v", i, err)
			}
		}
		for _, c := range []struct {
			id   parley.ID
			want string
		}{{resolved.ID, "resolved:Sale open"}, {open.ID, "open"}, {results[2].Conversation.ID, "open"}} {
			if got := a.episodes(t, c.id); got != c.want {
				t.Errorf("conversation %d: episodes %s; want %s", c.id, got, c.want)
			}
		}
		if c := results[0].Conversation; tagNames(c.Tags) != "Sale" || refName(c.FinalTag) != "Sale" {
			t.Errorf("the batch reads back tags %s, final %v", tagNames(c.Tags), c.FinalTag)
		}
		if c := results[3].Conversation; tagNames(c.Tags) != "VIP" || c.FinalTag != nil {
			t.Errorf("an open tagged thread reads back tags %s, final %v; want VIP, none", tagNames(c.Tags), c.FinalTag)
		}
		for _, i := range []int{1, 2} {
			if c := results[i].Conversation; c.Tags == nil || len(c.Tags) != 0 || c.FinalTag != nil {
				t.Errorf("text %d: an untagged thread reads back tags %#v, final %v; want [] (listed as such in JSON), none", i, c.Tags, c.FinalTag)
			}
		}
	})
}
