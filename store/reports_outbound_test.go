package store_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store"
)

// sendFix is a send as the outbound report reads it, inserted directly
// (message and sends row): filling sends is another part's work.
type sendFix struct {
	conv       conversations.Conversation
	channel    parley.ID // the conversation's when 0
	campaign   *parley.ID
	origin     string
	at         time.Time
	firstSent  time.Time // the contact's first send; at when zero
	replyAt    time.Time
	assignedAt time.Time
	assignee   parley.ID
	tag        *conversations.Tag
}

func insertSend(t testing.TB, db *store.DB, account parley.ID, s sendFix) parley.ID {
	t.Helper()
	if s.channel == 0 {
		s.channel = s.conv.ChannelID
	}
	if s.firstSent.IsZero() {
		s.firstSent = s.at
	}
	var campaign any
	if s.campaign != nil {
		campaign = int64(*s.campaign)
	}
	var id int64
	q := `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, status, campaign_id, created_at, updated_at)
VALUES (?, ?, ?, 'outbound', 'text', 'Hello', 'delivered', ?, ?, ?) RETURNING id`
	if err := db.SQL().QueryRowContext(ctx, db.SQL().Rebind(q), account, s.conv.ID, s.channel, campaign,
		s.at.UnixMilli(), s.at.UnixMilli()).Scan(&id); err != nil {
		t.Fatalf("insert message: %v", err)
	}
	msOrNil := func(at time.Time) any {
		if at.IsZero() {
			return nil
		}
		return at.UnixMilli()
	}
	var assignee, tagID, tagType any
	if s.assignee != 0 {
		assignee = int64(s.assignee)
	}
	if s.tag != nil {
		tagID, tagType = int64(s.tag.ID), string(s.tag.Type)
	}
	exec(t, db, `INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id, campaign_id, origin_type, sent_at,
  contact_first_sent_at, first_reply_at, first_assigned_at, first_assignee_id, final_tag_id, final_tag_type)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, account, s.conv.ID, s.conv.ContactID, s.channel, campaign, s.origin,
		s.at.UnixMilli(), s.firstSent.UnixMilli(), msOrNil(s.replyAt), msOrNil(s.assignedAt), assignee, tagID, tagType)
	exec(t, db, store.LinkSendsSQL, account) // as the store links a send it records
	return parley.ID(id)
}

func insertCampaign(t testing.TB, db *store.DB, tn *tenant, name, origin string) parley.ID {
	t.Helper()
	var id int64
	q := `INSERT INTO campaigns (account_id, name, channel_id, body, audience, origin_type, status, rate_per_second, created_by, created_at, updated_at)
VALUES (?, ?, ?, 'Hello', '{}', ?, 'done', 1, ?, ?, ?) RETURNING id`
	if err := db.SQL().QueryRowContext(ctx, db.SQL().Rebind(q), tn.account.ID, name, tn.channel.ID, origin, tn.admin.ID,
		t0.UnixMilli(), t0.UnixMilli()).Scan(&id); err != nil {
		t.Fatalf("insert campaign: %v", err)
	}
	return parley.ID(id)
}

func insertTag(t testing.TB, db *store.DB, account parley.ID, name string, typ conversations.TagType) *conversations.Tag {
	t.Helper()
	var id int64
	q := `INSERT INTO tags (account_id, name, name_key, type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	if err := db.SQL().QueryRowContext(ctx, db.SQL().Rebind(q), account, name, name, string(typ), t0.UnixMilli(), t0.UnixMilli()).Scan(&id); err != nil {
		t.Fatalf("insert tag: %v", err)
	}
	return &conversations.Tag{ID: parley.ID(id), Name: name, Type: typ}
}

// outboundFixture is one account's sends, and what the report must say of
// them (see newOutboundFixture).
type outboundFixture struct {
	a                 *tenant
	ch2               conversations.Channel
	spring, autumn    parley.ID
	sale, lost        *conversations.Tag
	alice, bob, carol conversations.Conversation
	f                 reports.OutboundFilter
	// sends in the range, in the order they were listed.
	sends []parley.ID
}

// newOutboundFixture: six sends in the range to three contacts (alice
// and carol new, bob recurring), over two campaigns and a quick message,
// and sends the report must leave out (before and after the range, another
// account's).
func newOutboundFixture(t *testing.T, db *store.DB) *outboundFixture {
	a := newTenant(t, db, sidA, bizA)
	b := newTenant(t, db, sidB, bizB)
	x := &outboundFixture{a: a}
	x.ch2 = a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
	x.alice = a.receive(t, text{from: alice, body: "hi"}).Conversation
	x.bob = a.receive(t, text{from: bob, body: "hi"}).Conversation
	x.carol = a.receive(t, text{from: carol, body: "hi", to: bizA2}).Conversation
	daveConv := a.receive(t, text{from: dave, body: "hi"}).Conversation
	other := b.receive(t, text{from: alice, body: "hi"}).Conversation
	x.spring = insertCampaign(t, db, a, "Spring Sale", "campaign")
	x.autumn = insertCampaign(t, db, a, "Autumn 100% promo", "template")
	x.sale = insertTag(t, db, a.account.ID, "Sale", conversations.TagSale)
	x.lost = insertTag(t, db, a.account.ID, "Lost", conversations.TagNegative)
	day := t0.Add(24 * time.Hour)
	h := func(n float64) time.Time { return day.Add(time.Duration(n * float64(time.Hour))) }
	admin := a.admin.ID
	acc := a.account.ID
	x.f = reports.OutboundFilter{AccountID: acc, From: day, To: day.AddDate(0, 0, 10), ReplyWindow: reports.DefaultReplyWindow}
	for _, s := range []sendFix{
		// 1: alice, spring; replied after 1 h, assigned after 1.5 h, a sale.
		{conv: x.alice, campaign: &x.spring, origin: "campaign", at: h(0), replyAt: h(1), assignedAt: h(1.5), assignee: admin, tag: x.sale},
		// 2: alice, autumn; replied after the 72 h window.
		{conv: x.alice, campaign: &x.autumn, origin: "template", at: h(5), firstSent: h(0), replyAt: h(100)},
		// 3: bob (texted before the range), spring; assigned after the window, lost.
		{conv: x.bob, campaign: &x.spring, origin: "campaign", at: h(1), firstSent: t0.AddDate(0, 0, -30), assignedAt: h(80), assignee: admin, tag: x.lost},
		// 4: bob, a quick message; replied after 1 h, lost.
		{conv: x.bob, origin: "quick_message", at: h(3), firstSent: t0.AddDate(0, 0, -30), replyAt: h(4), tag: x.lost},
		// 5: carol on the second channel, autumn; replied and assigned after 8 h, a sale.
		{conv: x.carol, campaign: &x.autumn, origin: "template", at: h(2), replyAt: h(10), assignedAt: h(10), assignee: admin, tag: x.sale},
		// 6: carol, spring, on the second channel.
		{conv: x.carol, campaign: &x.spring, origin: "campaign", at: h(30), firstSent: h(2)},
	} {
		x.sends = append(x.sends, insertSend(t, db, acc, s))
	}
	// Left out: before the range, at its end, another account's.
	insertSend(t, db, acc, sendFix{conv: daveConv, origin: "quick_message", at: day.Add(-time.Hour)})
	insertSend(t, db, acc, sendFix{conv: x.alice, campaign: &x.spring, origin: "campaign", at: x.f.To, firstSent: h(0)})
	insertSend(t, db, b.account.ID, sendFix{conv: other, origin: "quick_message", at: h(1)})
	return x
}

func outboundReport(t *testing.T, db *store.DB, f reports.OutboundFilter) reports.OutboundReport {
	t.Helper()
	rep, err := db.OutboundReport(ctx, f)
	if err != nil {
		t.Fatalf("OutboundReport: %v", err)
	}
	return rep
}

// allAudit reads every audit page of f, limit rows at a time.
func allAudit(t *testing.T, db *store.DB, f reports.OutboundFilter, limit int) []reports.AuditRow {
	t.Helper()
	var out []reports.AuditRow
	var after *reports.AuditCursor
	for pages := 0; ; pages++ {
		rows, more, err := db.OutboundAudit(ctx, f, after, limit)
		if err != nil {
			t.Fatalf("OutboundAudit: %v", err)
		}
		if len(rows) > limit || (more && len(rows) != limit) {
			t.Fatalf("page of %d rows (more %v) for limit %d", len(rows), more, limit)
		}
		out = append(out, rows...)
		if !more {
			return out
		}
		if pages > 100 {
			t.Fatal("audit pages do not end")
		}
		last := rows[len(rows)-1]
		after = &reports.AuditCursor{SentAt: last.SentAt, SendID: last.SendID}
	}
}

// reportOfAudit computes the report from audit rows, as a user
// counting the audit would.
func reportOfAudit(rows []reports.AuditRow) reports.OutboundReport {
	var rep reports.OutboundReport
	type acc struct {
		c        reports.OutboundCounts
		contacts map[parley.ID]bool
	}
	add := func(a *acc, r reports.AuditRow) {
		if a.contacts == nil {
			a.contacts = map[parley.ID]bool{}
		}
		a.c.Sends++
		a.contacts[r.ContactID] = true
		a.c.Contacts = int64(len(a.contacts))
		if r.RepliedAt != nil {
			a.c.Replied++
		}
		if r.AssigneeID != nil {
			a.c.Assigned++
		}
		if r.Sale {
			a.c.Sales++
		}
	}
	var total acc
	origins, camps := map[string]*acc{}, map[parley.ID]*acc{}
	campNames, campOrigins := map[parley.ID]string{}, map[parley.ID]string{}
	kinds := map[reports.ContactKind]map[parley.ID]bool{reports.ContactNew: {}, reports.ContactRecurring: {}}
	tags := map[string]int64{}
	tagTypes := map[string]conversations.TagType{}
	for _, r := range rows {
		add(&total, r)
		if origins[r.OriginType] == nil {
			origins[r.OriginType] = &acc{}
		}
		add(origins[r.OriginType], r)
		if r.CampaignID != nil {
			if camps[*r.CampaignID] == nil {
				camps[*r.CampaignID] = &acc{}
			}
			add(camps[*r.CampaignID], r)
			campNames[*r.CampaignID], campOrigins[*r.CampaignID] = r.CampaignName, r.OriginType
		}
		kinds[r.ContactKind][r.ContactID] = true
		if r.FinalTag != "" {
			tags[r.FinalTag]++
			tagTypes[r.FinalTag] = r.FinalTagType
		}
	}
	rep.Totals = total.c
	for o, a := range origins {
		rep.ByOriginType = append(rep.ByOriginType, reports.OriginTypeCounts{OriginType: o, OutboundCounts: a.c})
	}
	sort.Slice(rep.ByOriginType, func(i, j int) bool { return rep.ByOriginType[i].OriginType < rep.ByOriginType[j].OriginType })
	for id, a := range camps {
		rep.ByCampaign = append(rep.ByCampaign, reports.CampaignCounts{CampaignID: id, Name: campNames[id], OriginType: campOrigins[id], OutboundCounts: a.c})
	}
	sort.Slice(rep.ByCampaign, func(i, j int) bool { return rep.ByCampaign[i].CampaignID < rep.ByCampaign[j].CampaignID })
	for name, n := range tags {
		rep.FinalTags = append(rep.FinalTags, reports.FinalTagCount{Name: name, Type: tagTypes[name], Count: n})
	}
	sort.Slice(rep.FinalTags, func(i, j int) bool {
		a, b := rep.FinalTags[i], rep.FinalTags[j]
		return a.Count > b.Count || (a.Count == b.Count && a.Name < b.Name)
	})
	rep.NewContacts, rep.RecurringContacts = int64(len(kinds[reports.ContactNew])), int64(len(kinds[reports.ContactRecurring]))
	return rep
}

// withoutTagIDs drops the final tags' ids, which audit rows do not carry.
func withoutTagIDs(rep reports.OutboundReport) reports.OutboundReport {
	tags := make([]reports.FinalTagCount, len(rep.FinalTags))
	for i, t := range rep.FinalTags {
		t.TagID = 0
		tags[i] = t
	}
	rep.FinalTags = tags
	return rep
}

func sameReport(a, b reports.OutboundReport) bool {
	norm := func(r reports.OutboundReport) reports.OutboundReport {
		if len(r.ByOriginType) == 0 {
			r.ByOriginType = nil
		}
		if len(r.ByCampaign) == 0 {
			r.ByCampaign = nil
		}
		if len(r.FinalTags) == 0 {
			r.FinalTags = nil
		}
		return withoutTagIDs(r)
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestOutboundReportFigures: the fixture's figures, distinct contacts per
// grouping (not summed), quick messages only by origin type, new versus
// recurring contacts, final tags most first.
func TestOutboundReportFigures(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		rep := outboundReport(t, db, x.f)
		want := reports.OutboundCounts{Sends: 6, Contacts: 3, Replied: 3, Assigned: 2, Sales: 2}
		if rep.Totals != want {
			t.Errorf("totals = %+v; want %+v", rep.Totals, want)
		}
		if rep.NewContacts != 2 || rep.RecurringContacts != 1 {
			t.Errorf("contacts new %d, recurring %d; want 2 (alice, carol) and 1 (bob)", rep.NewContacts, rep.RecurringContacts)
		}
		wantCampaigns := []reports.CampaignCounts{
			{CampaignID: x.spring, Name: "Spring Sale", OriginType: "campaign", OutboundCounts: reports.OutboundCounts{Sends: 3, Contacts: 3, Replied: 1, Assigned: 1, Sales: 1}},
			{CampaignID: x.autumn, Name: "Autumn 100% promo", OriginType: "template", OutboundCounts: reports.OutboundCounts{Sends: 2, Contacts: 2, Replied: 1, Assigned: 1, Sales: 1}},
		}
		if !reflect.DeepEqual(rep.ByCampaign, wantCampaigns) {
			t.Errorf("by campaign = %+v; want %+v (campaigns only, with names)", rep.ByCampaign, wantCampaigns)
		}
		wantOrigins := []reports.OriginTypeCounts{
			{OriginType: "campaign", OutboundCounts: reports.OutboundCounts{Sends: 3, Contacts: 3, Replied: 1, Assigned: 1, Sales: 1}},
			{OriginType: "quick_message", OutboundCounts: reports.OutboundCounts{Sends: 1, Contacts: 1, Replied: 1}},
			{OriginType: "template", OutboundCounts: reports.OutboundCounts{Sends: 2, Contacts: 2, Replied: 1, Assigned: 1, Sales: 1}},
		}
		if !reflect.DeepEqual(rep.ByOriginType, wantOrigins) {
			t.Errorf("by origin type = %+v; want %+v", rep.ByOriginType, wantOrigins)
		}
		wantTags := []reports.FinalTagCount{
			{TagID: x.lost.ID, Name: "Lost", Type: conversations.TagNegative, Count: 2},
			{TagID: x.sale.ID, Name: "Sale", Type: conversations.TagSale, Count: 2},
		}
		if !reflect.DeepEqual(rep.FinalTags, wantTags) {
			t.Errorf("final tags = %+v; want %+v", rep.FinalTags, wantTags)
		}
		if got := rep.Funnel(); got[0].Count != 6 || got[1].Count != 3 || got[2].Count != 2 || got[3].Count != 2 {
			t.Errorf("funnel = %+v", got)
		}

		empty := x.f
		empty.From, empty.To = t0.AddDate(1, 0, 0), t0.AddDate(1, 1, 0)
		if rep := outboundReport(t, db, empty); rep.Totals != (reports.OutboundCounts{}) || len(rep.ByOriginType)+len(rep.ByCampaign)+len(rep.FinalTags) != 0 ||
			rep.NewContacts+rep.RecurringContacts != 0 {
			t.Errorf("empty range = %+v; want nothing", rep)
		}
	})
}

// outboundCase is a filter and the fixture's sends (1-based, as listed in
// newOutboundFixture) it keeps.
type outboundCase struct {
	name  string
	apply func(f *reports.OutboundFilter, x *outboundFixture)
	sends []int
}

func outboundCases() []outboundCase {
	id := func(v parley.ID) *parley.ID { return &v }
	return []outboundCase{
		{"all", func(f *reports.OutboundFilter, x *outboundFixture) {}, []int{1, 3, 5, 4, 2, 6}},
		{"channel", func(f *reports.OutboundFilter, x *outboundFixture) { f.ChannelID = id(x.ch2.ID) }, []int{5, 6}},
		{"origin type", func(f *reports.OutboundFilter, x *outboundFixture) { f.OriginType = "quick_message" }, []int{4}},
		{"campaign", func(f *reports.OutboundFilter, x *outboundFixture) { f.CampaignID = id(x.autumn) }, []int{5, 2}},
		{"campaign name, any case", func(f *reports.OutboundFilter, x *outboundFixture) { f.CampaignName = "sPRING" }, []int{1, 3, 6}},
		{"campaign name with %", func(f *reports.OutboundFilter, x *outboundFixture) { f.CampaignName = "100%" }, []int{5, 2}},
		{"campaign name _ is literal", func(f *reports.OutboundFilter, x *outboundFixture) { f.CampaignName = "Spring_Sale" }, nil},
		{"tag type", func(f *reports.OutboundFilter, x *outboundFixture) { f.TagType = conversations.TagSale }, []int{1, 5}},
		{"final tag", func(f *reports.OutboundFilter, x *outboundFixture) { f.FinalTagID = id(x.lost.ID) }, []int{3, 4}},
		{"new contacts", func(f *reports.OutboundFilter, x *outboundFixture) { f.ContactKind = reports.ContactNew }, []int{1, 5, 2, 6}},
		{"recurring contacts", func(f *reports.OutboundFilter, x *outboundFixture) { f.ContactKind = reports.ContactRecurring }, []int{3, 4}},
		{"range", func(f *reports.OutboundFilter, x *outboundFixture) { f.To = f.From.Add(3 * time.Hour) }, []int{1, 3, 5}},
		// From after alice's and carol's first sends: they are recurring now.
		{"range start makes recurring", func(f *reports.OutboundFilter, x *outboundFixture) {
			f.From = f.From.Add(3 * time.Hour)
			f.ContactKind = reports.ContactRecurring
		}, []int{4, 2, 6}},
		{"short window", func(f *reports.OutboundFilter, x *outboundFixture) { f.ReplyWindow = 2 * time.Hour }, []int{1, 3, 5, 4, 2, 6}},
		{"combined", func(f *reports.OutboundFilter, x *outboundFixture) {
			f.CampaignName = "spring"
			f.ContactKind = reports.ContactNew
			f.ChannelID = id(x.ch2.ID)
		}, []int{6}},
	}
}

// TestOutboundFilters: each filter keeps the sends it names, in the
// audit's order (sent_at, send id).
func TestOutboundFilters(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		for _, c := range outboundCases() {
			f := x.f
			c.apply(&f, x)
			rows := allAudit(t, db, f, reports.MaxAuditPage)
			var got, want []parley.ID
			for _, r := range rows {
				got = append(got, r.SendID)
			}
			for _, n := range c.sends {
				want = append(want, x.sends[n-1])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: sends %v; want %v", c.name, got, want)
			}
			if rep := outboundReport(t, db, f); rep.Totals.Sends != int64(len(want)) {
				t.Errorf("%s: report counts %d sends; want %d", c.name, rep.Totals.Sends, len(want))
			}
		}
	})
}

// TestOutboundCampaignNameFoldsEveryLetter: the campaign name filter finds
// a name whatever the case of its non-ASCII letters, on both databases
// (SQLite's LOWER and LIKE fold ASCII only), in the summary and the audit
// alike.
func TestOutboundCampaignNameFoldsEveryLetter(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		toAlice := a.receive(t, text{from: alice, body: "hi"}).Conversation
		toBob := a.receive(t, text{from: bob, body: "hi"}).Conversation
		upper := insertCampaign(t, db, a, "ÉTÉ Promo", "campaign")
		lower := insertCampaign(t, db, a, "été lowercase", "campaign")
		other := insertCampaign(t, db, a, "Winter", "campaign")
		day := t0.Add(24 * time.Hour)
		for i, s := range []sendFix{
			{conv: toAlice, campaign: &upper, origin: "campaign"},
			{conv: toBob, campaign: &upper, origin: "campaign"},
			{conv: toAlice, campaign: &lower, origin: "campaign"},
			{conv: toBob, campaign: &other, origin: "campaign"},
			{conv: toBob, origin: "quick_message"},
		} {
			s.at = day.Add(time.Duration(i) * time.Hour)
			insertSend(t, db, a.account.ID, s)
		}
		base := reports.OutboundFilter{AccountID: a.account.ID, From: day, To: day.AddDate(0, 0, 1), ReplyWindow: reports.DefaultReplyWindow}
		counts := func(sends, contacts int64) reports.OutboundCounts {
			return reports.OutboundCounts{Sends: sends, Contacts: contacts}
		}
		upperCounts := reports.CampaignCounts{CampaignID: upper, Name: "ÉTÉ Promo", OriginType: "campaign", OutboundCounts: counts(2, 2)}
		lowerCounts := reports.CampaignCounts{CampaignID: lower, Name: "été lowercase", OriginType: "campaign", OutboundCounts: counts(1, 1)}
		both := []reports.CampaignCounts{upperCounts, lowerCounts}
		for _, c := range []struct {
			name   string
			totals reports.OutboundCounts
			want   []reports.CampaignCounts
		}{
			{"ÉTÉ", counts(3, 2), both},
			{"été", counts(3, 2), both},
			{"Été", counts(3, 2), both},
			{"promo", counts(2, 2), []reports.CampaignCounts{upperCounts}},
			{"PROMO", counts(2, 2), []reports.CampaignCounts{upperCounts}},
			{"É LOWER", counts(1, 1), []reports.CampaignCounts{lowerCounts}},
			{"étés", counts(0, 0), nil},
			{"hiver", counts(0, 0), nil},
		} {
			f := base
			f.CampaignName = c.name
			rep := outboundReport(t, db, f)
			if rep.Totals != c.totals {
				t.Errorf("campaign name %q: totals %+v; want %+v", c.name, rep.Totals, c.totals)
			}
			if len(rep.ByCampaign)+len(c.want) > 0 && !reflect.DeepEqual(rep.ByCampaign, c.want) {
				t.Errorf("campaign name %q: by campaign %+v; want %+v", c.name, rep.ByCampaign, c.want)
			}
			if rows := allAudit(t, db, f, reports.MaxAuditPage); int64(len(rows)) != c.totals.Sends {
				t.Errorf("campaign name %q: %d audit rows; want %d", c.name, len(rows), c.totals.Sends)
			}
		}
	})
}

// TestOutboundSummaryEqualsAudit: for every filter, counting the audit's
// rows (read in small pages) gives the summary's figures exactly.
func TestOutboundSummaryEqualsAudit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		check := func(stage string) {
			for _, c := range outboundCases() {
				f := x.f
				c.apply(&f, x)
				rep := outboundReport(t, db, f)
				fromAudit := reportOfAudit(allAudit(t, db, f, 2))
				if !sameReport(rep, fromAudit) {
					t.Errorf("%s, %s: summary\n%+v\nbut the audit counts\n%+v", stage, c.name, withoutTagIDs(rep), fromAudit)
				}
			}
		}
		check("one send per contact and campaign")
		// The same contact texted again by the same campaign, and by quick
		// messages, with other final tags: still one contact each.
		day := x.f.From
		acc := x.a.account.ID
		insertSend(t, db, acc, sendFix{conv: x.alice, campaign: &x.spring, origin: "campaign", at: day.Add(40 * time.Hour), firstSent: day, tag: x.lost})
		insertSend(t, db, acc, sendFix{conv: x.alice, campaign: &x.spring, origin: "campaign", at: day.Add(41 * time.Hour), firstSent: day, replyAt: day.Add(42 * time.Hour)})
		insertSend(t, db, acc, sendFix{conv: x.bob, origin: "quick_message", at: day.Add(43 * time.Hour), firstSent: t0.AddDate(0, 0, -30), tag: x.sale})
		insertSend(t, db, acc, sendFix{conv: x.carol, origin: "quick_message", at: day.Add(44 * time.Hour), firstSent: day.Add(2 * time.Hour)})
		// Another campaign of the same origin type to alice.
		summer := insertCampaign(t, db, x.a, "Summer", "campaign")
		insertSend(t, db, acc, sendFix{conv: x.alice, campaign: &summer, origin: "campaign", at: day.Add(45 * time.Hour), firstSent: day})
		check("repeated sends")
		rep := outboundReport(t, db, x.f)
		if rep.Totals.Contacts != 3 || rep.Totals.Sends != 11 || len(rep.ByCampaign) != 3 || rep.ByCampaign[2].Contacts != 1 || rep.ByCampaign[0].Contacts != 3 || rep.ByCampaign[0].Sends != 5 {
			t.Errorf("after repeated sends: totals %+v, spring %+v; want 3 contacts of 11 sends, summer 1 contact, spring 3 contacts of 5 sends", rep.Totals, rep.ByCampaign[0])
		}
	})
}

// TestOutboundAuditRows: an audit row shows the send as a user checks it:
// names, phone, status, the reply and assignee only within the window.
func TestOutboundAuditRows(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		rows := allAudit(t, db, x.f, 3)
		byID := map[parley.ID]reports.AuditRow{}
		for _, r := range rows {
			byID[r.SendID] = r
		}
		first := byID[x.sends[0]]
		if first.CampaignName != "Spring Sale" || first.Phone != alice || first.Status != conversations.MessageStatus("delivered") ||
			first.RepliedAt == nil || first.AssigneeID == nil || *first.AssigneeID != x.a.admin.ID || first.FinalTag != "Sale" ||
			first.FinalTagType != conversations.TagSale || !first.Sale || first.ContactKind != reports.ContactNew ||
			first.ConversationID != x.alice.ID || first.ContactID != x.alice.ContactID || first.ChannelID != x.alice.ChannelID {
			t.Errorf("send 1 = %+v", first)
		}
		late := byID[x.sends[1]]
		if late.RepliedAt != nil || late.Sale || late.FinalTag != "" {
			t.Errorf("send 2 = %+v; want no reply (after the window), no tag", late)
		}
		lateAssign := byID[x.sends[2]]
		if lateAssign.AssigneeID != nil || lateAssign.ContactKind != reports.ContactRecurring || lateAssign.Phone != bob {
			t.Errorf("send 3 = %+v; want no assignee (after the window), recurring", lateAssign)
		}
		quick := byID[x.sends[3]]
		if quick.CampaignID != nil || quick.Values()[3] != nil {
			t.Errorf("quick message = %+v; want no campaign", quick)
		}
		// A page's cursor resumes after its last row.
		page, more, err := db.OutboundAudit(ctx, x.f, nil, 4)
		if err != nil || !more || len(page) != 4 {
			t.Fatalf("first page: %d rows, more %v, %v", len(page), more, err)
		}
		last := page[3]
		rest, more, err := db.OutboundAudit(ctx, x.f, &reports.AuditCursor{SentAt: last.SentAt, SendID: last.SendID}, 4)
		if err != nil || more || len(rest) != 2 || rest[0].SendID != x.sends[1] || rest[1].SendID != x.sends[5] {
			t.Errorf("second page = %v, more %v, %v; want sends 2 and 6, no more", rest, more, err)
		}
	})
}

// TestOutboundReportThroughSends: sends recorded by the real path (a
// quick message and a campaign text the carrier accepted, then a reply,
// an assignment and a close with a sale tag) show in the report and the
// audit as a user would count them.
func TestOutboundReportThroughSends(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		sale := a.newTag(t, "Sale", conversations.TagSale)
		t1 := t0.Add(time.Hour)
		q := a.quick(t, alice, t1)
		sendAs(t, db, newSID("SM"), t1)
		camp := a.campaignTo(t, t1.Add(time.Minute), carol)[carol]
		a.receive(t, text{from: alice, body: "Great, I'll come", at: t1.Add(time.Hour)})
		a.assign(t, q.ConversationID, &a.admin.ID, t1.Add(2*time.Hour))
		a.mustAct(t, q.ConversationID, conversations.ActionResolve, sale.ID, t1.Add(3*time.Hour))

		f := reports.OutboundFilter{AccountID: a.account.ID, From: t0, To: t0.AddDate(0, 0, 7), ReplyWindow: reports.DefaultReplyWindow}
		rep := outboundReport(t, db, f)
		if want := (reports.OutboundCounts{Sends: 2, Contacts: 2, Replied: 1, Assigned: 1, Sales: 1}); rep.Totals != want {
			t.Errorf("totals = %+v; want %+v", rep.Totals, want)
		}
		if len(rep.ByCampaign) != 1 || rep.ByCampaign[0].CampaignID != camp.CampaignID || rep.ByCampaign[0].Name != "Spring offer" {
			t.Errorf("by campaign = %+v; want the one campaign, named", rep.ByCampaign)
		}
		if len(rep.FinalTags) != 1 || rep.FinalTags[0].TagID != sale.ID || rep.FinalTags[0].Count != 1 || rep.NewContacts != 2 {
			t.Errorf("final tags = %+v, new contacts %d; want Sale once, 2 new", rep.FinalTags, rep.NewContacts)
		}
		rows := allAudit(t, db, f, 10)
		if !sameReport(rep, reportOfAudit(rows)) {
			t.Errorf("summary %+v; the audit counts %+v", rep, reportOfAudit(rows))
		}
		if r := rows[0]; r.SendID != q.MessageID || r.Phone != alice || r.RepliedAt == nil || r.AssigneeID == nil || !r.Sale ||
			r.OriginType != "quick_message" || r.Status == "" {
			t.Errorf("quick message's row = %+v", r)
		}
	})
}

// TestOutboundLinksAgreeWithSort: the summary counts distinct contacts
// from each send's links to the contact's previous sends; over a random
// world of repeated sends on two channels, two campaigns and quick
// messages, every range and filter the links serve gives the report that
// sorting the sends by contact gives.
func TestOutboundLinksAgreeWithSort(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		ch2 := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
		spring := insertCampaign(t, db, a, "Spring", "campaign")
		autumn := insertCampaign(t, db, a, "Autumn", "template")
		sale := insertTag(t, db, a.account.ID, "Sale", conversations.TagSale)
		rng := rand.New(rand.NewPCG(7, 18))
		day := t0.Add(24 * time.Hour)
		var convs [][2]conversations.Conversation // per contact: on the first and the second channel
		for i := range 8 {
			phone := fmt.Sprintf("+1415555%04d", 7000+i)
			convs = append(convs, [2]conversations.Conversation{
				a.receive(t, text{from: phone, body: "hi"}).Conversation,
				a.receive(t, text{from: phone, body: "hi", to: bizA2}).Conversation,
			})
		}
		for range 70 {
			c := convs[rng.IntN(len(convs))]
			s := sendFix{conv: c[0], at: day.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)}
			switch rng.IntN(3) { // a campaign's texts go out on its channel
			case 0:
				s.campaign, s.origin = &spring, "campaign"
			case 1:
				s.campaign, s.origin = &autumn, "template"
			default:
				s.origin, s.conv = "quick_message", c[rng.IntN(2)]
			}
			if rng.IntN(4) == 0 {
				s.tag = sale
			}
			insertSend(t, db, a.account.ID, s)
		}
		exec(t, db, `UPDATE sends SET contact_first_sent_at = (SELECT MIN(s2.sent_at) FROM sends s2 WHERE s2.contact_id = sends.contact_id)`)
		ch1 := a.channel.ID
		filters := map[string]func(*reports.OutboundFilter){
			"none":                 func(*reports.OutboundFilter) {},
			"channel 1":            func(f *reports.OutboundFilter) { f.ChannelID = &ch1 },
			"channel 2":            func(f *reports.OutboundFilter) { f.ChannelID = &ch2.ID },
			"campaigns":            func(f *reports.OutboundFilter) { f.OriginType = "campaign" },
			"quick messages":       func(f *reports.OutboundFilter) { f.OriginType = "quick_message" },
			"spring":               func(f *reports.OutboundFilter) { f.CampaignID = &spring },
			"channel 2 quick":      func(f *reports.OutboundFilter) { f.ChannelID, f.OriginType = &ch2.ID, "quick_message" },
			"new":                  func(f *reports.OutboundFilter) { f.ContactKind = reports.ContactNew },
			"recurring":            func(f *reports.OutboundFilter) { f.ContactKind = reports.ContactRecurring },
			"channel 1, recurring": func(f *reports.OutboundFilter) { f.ChannelID, f.ContactKind = &ch1, reports.ContactRecurring },
		}
		repeated := false
		for _, days := range [][2]int{{0, 10}, {3, 7}, {5, 6}} {
			for name, set := range filters {
				f := reports.OutboundFilter{AccountID: a.account.ID, From: day.AddDate(0, 0, days[0]), To: day.AddDate(0, 0, days[1]),
					ReplyWindow: reports.DefaultReplyWindow}
				set(&f)
				linked := outboundReport(t, db, f)
				sorted, err := db.OutboundReportSorted(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(linked, sorted) {
					t.Errorf("days %v, %s: from the links\n%+v\nsorted\n%+v", days, name, linked, sorted)
				}
				repeated = repeated || linked.Totals.Contacts < linked.Totals.Sends
			}
		}
		if !repeated {
			t.Fatal("no contact was texted twice: the world tests nothing")
		}
	})
}
