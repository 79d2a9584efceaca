package store_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
)

// startCampaign creates and starts a campaign on the tenant's channel.
func (tn *tenant) startCampaign(t testing.TB, a campaigns.Audience, rate int) campaigns.Campaign {
	t.Helper()
	c, err := tn.db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: "Spring offer", ChannelID: tn.channel.ID,
		Body: "Hi {{first_name|there}}", Audience: a, OriginType: "campaign", RatePerSecond: rate, CreatedBy: tn.admin.ID,
		CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatalf("CreateCampaign: %v", err)
	}
	if c, err = tn.db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionStart, t0); err != nil {
		t.Fatalf("start: %v", err)
	}
	return c
}

// recipientPhones lists a campaign's recipients' phones in recipient order.
func recipientPhones(t testing.TB, db *store.DB, campaignID parley.ID) []string {
	t.Helper()
	var phones []string
	if err := db.SQL().SelectContext(ctx, &phones, db.SQL().Rebind(`SELECT phone FROM campaign_recipients WHERE campaign_id = ? ORDER BY id`),
		campaignID); err != nil {
		t.Fatal(err)
	}
	return phones
}

func TestAudienceExpansion(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)

		ann := newContact(t, db, tn.account.ID, "Ann Lee", "+14155551001", "+14155551002") // her first phone
		noPhone := newContact(t, db, tn.account.ID, "No Phone")
		var leads []string
		for i := range 30 {
			attrs := map[string]any{"plan": "pro"}
			if i%3 == 0 {
				attrs["plan"] = "free"
			}
			phone := fmt.Sprintf("+1415556%04d", i)
			_, err := db.CreateContact(ctx, conversations.Contact{AccountID: tn.account.ID, Name: fmt.Sprintf("Lead %d", i), Type: "lead",
				Attributes: attrs, Phones: []string{phone}, CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			if i%3 != 0 {
				leads = append(leads, phone)
			}
		}
		newContact(t, db, tn.account.ID, "Not a lead", "+14155559999")

		// More phones than one transaction expands, so the expansion
		// resumes across chunks and stages; Ann's phone and a lead's
		// phone appear twice and are kept once.
		var phones []string
		for i := range 12_000 {
			phones = append(phones, fmt.Sprintf("+1628%07d", i))
		}
		phones = append(phones, "+14155551001", leads[0])
		c := tn.startCampaign(t, campaigns.Audience{
			ContactIDs: []parley.ID{ann.ID, noPhone.ID, ann.ID},
			Phones:     phones,
			Filter:     &campaigns.AudienceFilter{ContactType: "lead", Attributes: map[string]any{"plan": "pro"}},
		}, 1)

		now := t0
		for range 10 {
			now = now.Add(time.Second)
			if _, err := db.AdvanceCampaigns(ctx, now, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		got := recipientPhones(t, db, c.ID)
		want := append([]string{"+14155551001"}, phones[:12_000]...)
		want = append(want, leads...) // leads[0] as a listed phone, the rest from the filter
		if len(got) != len(want) {
			t.Fatalf("%d recipients, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("recipient %d is %s, want %s (contact ids, then phones, then the filter, each once)", i, got[i], want[i])
			}
		}
		c, err := db.GetCampaign(ctx, tn.account.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Counts.Recipients != len(want) {
			t.Errorf("counts say %d recipients, want %d", c.Counts.Recipients, len(want))
		}
	})
}

// TestCampaignAudienceIsTheAccountsContacts: a campaign naming another
// account's contact, or an id that is no contact, is refused with a 422
// naming audience.contact_ids, and nothing is stored; past a chunk of
// ids too.
func TestCampaignAudienceIsTheAccountsContacts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		other := newTenant(t, db, newSID("AC"), bizB)
		ann := newContact(t, db, tn.account.ID, "Ann Lee", "+14155551001")
		stranger := newContact(t, db, other.account.ID, "Someone Else's", "+14155551003")
		many := make([]parley.ID, 0, 1200)
		for range 1200 {
			many = append(many, ann.ID)
		}
		for name, ids := range map[string][]parley.ID{
			"another account's contact":      {ann.ID, stranger.ID},
			"no such contact":                {999_999, ann.ID},
			"another's after a chunk of ids": append(many, stranger.ID),
		} {
			_, err := db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: "Spring offer", ChannelID: tn.channel.ID,
				Body: "Hi", Audience: campaigns.Audience{ContactIDs: ids}, OriginType: "campaign", RatePerSecond: 10,
				CreatedBy: tn.admin.ID, CreatedAt: t0, UpdatedAt: t0})
			wantKind(t, err, parley.EINVALID)
			var pe *parley.Error
			if !errors.As(err, &pe) || pe.Fields["audience.contact_ids"] == "" {
				t.Errorf("%s: %v, want a field error on audience.contact_ids", name, err)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM campaigns WHERE account_id = ?`, tn.account.ID); n != 0 {
			t.Errorf("%d campaigns stored, want none", n)
		}
		tn.startCampaign(t, campaigns.Audience{ContactIDs: []parley.ID{ann.ID}}, 1)
	})
}

// BenchmarkAudienceExpansion expands a filter audience of
// PARLEY_BENCH_RECIPIENTS contacts (default 20,000) through
// AdvanceCampaigns ticks and reports recipients per second.
func BenchmarkAudienceExpansion(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) { benchmarkExpansion(b, storetest.MustOpen(b, dialect), n) })
	}
}

func benchmarkExpansion(b *testing.B, db *store.DB, n int) {
	{
		tn := newTenant(b, db, newSID("AC"), bizA)
		if _, err := storetest.DevDB(b, db).Seed(ctx, db, devdb.SeedSpec{AccountID: tn.account.ID, Contacts: n, ContactType: "customer", Now: t0}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		var total time.Duration
		for i := range b.N {
			c := tn.startCampaign(b, campaigns.Audience{Filter: &campaigns.AudienceFilter{ContactType: "customer"}}, 1)
			began := time.Now()
			now := t0.Add(time.Duration(i) * time.Hour)
			for expanded := 0; expanded < n; {
				now = now.Add(time.Second)
				if _, err := db.AdvanceCampaigns(ctx, now, time.Second); err != nil {
					b.Fatal(err)
				}
				if err := db.SQL().GetContext(ctx, &expanded, db.SQL().Rebind(`SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ?`), c.ID); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(began)
			if _, err := db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionCancel, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "recipients/s")
		b.ReportMetric(0, "ns/op")
	}
}

// TestSeededSQLiteKeepsNoStatisticsOfEmptyTables: SQLite never analyzes
// by itself, so statistics taken while a table is empty would stand for
// it however it grew. A seeded audience leaves its messages and sends to
// the planner's defaults, its contacts analyzed.
func TestSeededSQLiteKeepsNoStatisticsOfEmptyTables(t *testing.T) {
	db := storetest.MustOpen(t, "sqlite")
	tn := newTenant(t, db, newSID("AC"), bizA)
	tools := storetest.DevDB(t, db)
	if _, err := tools.Seed(ctx, db, devdb.SeedSpec{AccountID: tn.account.ID, Contacts: 50, ContactType: "customer", Now: t0}); err != nil {
		t.Fatal(err)
	}
	var analyzed []string
	if err := tools.SQL().SelectContext(ctx, &analyzed, `SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl`); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(analyzed, "contacts") || slices.Contains(analyzed, "messages") || slices.Contains(analyzed, "sends") {
		t.Fatalf("tables with statistics after seeding contacts: %v; want contacts, not messages or sends", analyzed)
	}
}

// TestAudienceFilterWithoutAttributes: a filter with nothing to match but
// the contact type is expanded within the database, over more contacts
// than one chunk, as the matching filter is: the type's contacts with a
// phone, in id order, each by its first phone, after the listed phones,
// a phone listed and matched kept as listed.
func TestAudienceFilterWithoutAttributes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		const n = 6_000
		if _, err := storetest.DevDB(t, db).Seed(ctx, db, devdb.SeedSpec{AccountID: tn.account.ID, Contacts: n, ContactType: "customer", Now: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateContact(ctx, conversations.Contact{AccountID: tn.account.ID, Name: "No Phone", Type: "customer", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		newContact(t, db, tn.account.ID, "Not a customer", "+14155559999")
		var customers []struct {
			ID    int64  `db:"id"`
			Phone string `db:"phone"`
		}
		if err := db.SQL().SelectContext(ctx, &customers, db.SQL().Rebind(`SELECT c.id, MIN(p.phone) AS phone FROM contacts c
JOIN contact_phones p ON p.contact_id = c.id WHERE c.account_id = ? AND c.type = 'customer' GROUP BY c.id ORDER BY c.id`), tn.account.ID); err != nil {
			t.Fatal(err)
		}
		listed := customers[7].Phone
		c := tn.startCampaign(t, campaigns.Audience{Phones: []string{listed}, Filter: &campaigns.AudienceFilter{ContactType: "customer"}}, 1)
		for i := range 10 {
			tn.advance(t, t0.Add(time.Duration(i+1)*time.Second))
		}
		var got []struct {
			ContactID *int64 `db:"contact_id"`
			Phone     string `db:"phone"`
		}
		if err := db.SQL().SelectContext(ctx, &got, db.SQL().Rebind(`SELECT contact_id, phone FROM campaign_recipients WHERE campaign_id = ? ORDER BY id`), c.ID); err != nil {
			t.Fatal(err)
		}
		if len(got) != n || got[0].Phone != listed || got[0].ContactID != nil {
			t.Fatalf("%d recipients, the first %+v; want %d, the listed phone first without its contact", len(got), got[0], n)
		}
		want := slices.Delete(slices.Clone(customers), 7, 8)
		for i, w := range want {
			if r := got[i+1]; r.ContactID == nil || *r.ContactID != w.ID || r.Phone != w.Phone {
				t.Fatalf("recipient %d is %+v, want contact %d at %s", i+1, r, w.ID, w.Phone)
			}
		}
	})
}

// A short code or sender ID a contact texted from is on its phone list,
// but cannot be texted back: campaigns, by filter (with or without
// attributes) or by contact id, and quick messages take the contact's
// first phone number instead, or skip the contact.
func TestAudienceSkipsAddressesThatCannotBeTexted(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		gold := func(name string, phones ...string) conversations.Contact {
			c, err := db.CreateContact(ctx, conversations.Contact{AccountID: tn.account.ID, Name: name, Phones: phones,
				Attributes: map[string]any{"tier": "gold"}, CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		bank, shop, plain := gold("Bank", "ACMEBANK"), gold("Shop", "22395", "+14155551003"), gold("Plain", "+14155551004")
		want := []string{"+14155551003", "+14155551004"}
		for name, a := range map[string]campaigns.Audience{
			"a filter":                 {Filter: &campaigns.AudienceFilter{}},
			"a filter with attributes": {Filter: &campaigns.AudienceFilter{Attributes: map[string]any{"tier": "gold"}}},
			"contact ids":              {ContactIDs: []parley.ID{bank.ID, shop.ID, plain.ID}},
		} {
			c := tn.startCampaign(t, a, 10)
			if got := recipientPhones(t, db, c.ID); !slices.Equal(got, want) {
				t.Errorf("%s: recipients %v; want %v", name, got, want)
			}
		}
		res, err := db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: tn.account.ID, Sender: tn.admin, ChannelID: tn.channel.ID,
			Body: "Hi", ContactIDs: []parley.ID{bank.ID, shop.ID}, At: t0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) != 1 || res.Messages[0].To != "+14155551003" || len(res.Skipped) != 1 || res.Skipped[0].Reason != campaigns.SkipNoPhone {
			t.Errorf("a quick message to the bank and the shop: sent %+v, skipped %+v; want the shop's number, the bank skipped", res.Messages, res.Skipped)
		}
	})
}

// A start's answer counts the whole audience of any but a large campaign:
// more than one expansion chunk is expanded before it answers, however
// busy the machine.
func TestStartCountsItsAudience(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		var phones []string
		for i := range 6000 {
			phones = append(phones, fmt.Sprintf("+1628%07d", i))
		}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 10)
		if c.Counts.Recipients != 6000 || c.Counts.Queued != 6000 {
			t.Errorf("the start's counts: %+v; want the 6000 recipients, queued", c.Counts)
		}
	})
}
