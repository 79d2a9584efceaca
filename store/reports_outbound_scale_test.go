package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
)

// TestOutboundReportScale measures the outbound report's summary and
// first audit page over a large seed, for docs/PERFORMANCE.md. It runs only
// when PARLEY_OUTBOUND_SCALE_URL names a database (it is kept between runs
// and seeded once):
//
//	PARLEY_OUTBOUND_SCALE_URL=postgres://postgres@127.0.0.1:5432/outbound_scale?sslmode=disable \
//	PARLEY_OUTBOUND_SCALE=1000000/300000 go test ./store -run TestOutboundReportScale -v -timeout 1h
//
// PARLEY_OUTBOUND_SCALE is sends/conversations (default 1000000/300000);
// PARLEY_OUTBOUND_RUNS the measured runs per filter (default 20). On
// PostgreSQL it also logs EXPLAIN ANALYZE of the unfiltered summary.
func TestOutboundReportScale(t *testing.T) {
	rawURL := os.Getenv("PARLEY_OUTBOUND_SCALE_URL")
	if rawURL == "" {
		t.Skip("set PARLEY_OUTBOUND_SCALE_URL to measure the outbound report")
	}
	sends, convs := 1_000_000, 300_000
	if v := os.Getenv("PARLEY_OUTBOUND_SCALE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d/%d", &sends, &convs); err != nil {
			t.Fatalf("PARLEY_OUTBOUND_SCALE=%q: want sends/conversations", v)
		}
	}
	runs := 20
	if v, err := strconv.Atoi(os.Getenv("PARLEY_OUTBOUND_RUNS")); err == nil && v > 0 {
		runs = v
	}
	ctx := context.Background()
	db, err := Open(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(-1, 0, 0)
	seed, err := seedOutboundScale(ctx, t, db, sends, convs, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if db.Dialect() == "postgres" {
		if _, err := db.db.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	campaign, channel := seed.campaign, seed.channel
	base := reports.OutboundFilter{AccountID: seed.account, From: from, To: to, ReplyWindow: reports.DefaultReplyWindow}
	cases := []struct {
		name  string
		apply func(f *reports.OutboundFilter)
	}{
		{"a year", func(f *reports.OutboundFilter) {}},
		{"a month", func(f *reports.OutboundFilter) { f.From = to.AddDate(0, -1, 0) }},
		{"a year, one campaign", func(f *reports.OutboundFilter) { f.CampaignID = &campaign }},
		{"a year, campaign name", func(f *reports.OutboundFilter) { f.CampaignName = "campaign 1" }},
		{"a year, channel", func(f *reports.OutboundFilter) { f.ChannelID = &channel }},
		{"a year, quick messages", func(f *reports.OutboundFilter) { f.OriginType = "quick_message" }},
		{"a year, sales", func(f *reports.OutboundFilter) { f.TagType = conversations.TagSale }},
		{"a year, new contacts", func(f *reports.OutboundFilter) { f.ContactKind = reports.ContactNew }},
		{"a year, recurring, 24 h", func(f *reports.OutboundFilter) {
			f.ContactKind = reports.ContactRecurring
			f.ReplyWindow = 24 * time.Hour
		}},
	}
	t.Logf("%s: %d sends, %d conversations, %d runs each", db.Dialect(), sends, convs, runs)
	line := struct {
		Kind         string           `json:"kind"`
		DB           string           `json:"db"`
		Sends        int              `json:"sends"`
		Convs        int              `json:"conversations"`
		WorstSummary float64          `json:"worst_summary_p95_ms"`
		WorstAudit   float64          `json:"worst_audit_page_p95_ms"`
		Cases        []map[string]any `json:"cases"`
	}{Kind: "outbound_report", DB: db.Dialect(), Sends: sends, Convs: convs}
	msOf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, c := range cases {
		f := base
		c.apply(&f)
		var rep reports.OutboundReport
		took := measure(t, runs, func() {
			if rep, err = db.OutboundReport(ctx, f); err != nil {
				t.Fatal(err)
			}
		})
		page := measure(t, runs, func() {
			if _, _, err := db.OutboundAudit(ctx, f, nil, reports.MaxAuditPage); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%-26s sends=%-8d contacts=%-7d summary p50=%-9s p95=%-9s audit page p50=%-9s p95=%s", c.name, rep.Totals.Sends,
			rep.Totals.Contacts, took[0], took[1], page[0], page[1])
		line.Cases = append(line.Cases, map[string]any{"name": c.name, "summary_p50_ms": msOf(took[0]),
			"summary_p95_ms": msOf(took[1]), "audit_page_p95_ms": msOf(page[1])})
		line.WorstSummary = max(line.WorstSummary, msOf(took[1]))
		line.WorstAudit = max(line.WorstAudit, msOf(page[1]))
	}
	// The same year counted by sorting the sends by contact, as before the
	// sends linked to their previous ones: the A/B of the one run.
	sorted := measure(t, runs, func() {
		if _, err := db.OutboundReportSorted(ctx, base); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%-26s summary p50=%-9s p95=%s", "a year, sorted by contact", sorted[0], sorted[1])
	line.Cases = append(line.Cases, map[string]any{"name": "a year, sorted by contact (before)",
		"summary_p50_ms": msOf(sorted[0]), "summary_p95_ms": msOf(sorted[1])})
	// One JSON line for make bench (scripts/bench.sh keeps lines that start with {).
	if b, err := json.Marshal(line); err == nil {
		fmt.Println(string(b))
	}
	if db.Dialect() == "postgres" {
		q := db.dialect.outboundQuery(base)
		tx, err := db.readSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.tuneOutboundReport(ctx, tx); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.QueryContext(ctx, db.rebind(`EXPLAIN (ANALYZE, BUFFERS) `+outboundSummarySQL(q)), q.args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		t.Logf("EXPLAIN ANALYZE, a year:\n%s", strings.Join(plan, "\n"))
	}
}

// measure runs fn runs times after a tenth as many to warm caches, and
// returns the median and the 95th percentile.
func measure(t *testing.T, runs int, fn func()) [2]time.Duration {
	var took []time.Duration
	for i := 0; i < runs+runs/10; i++ {
		start := time.Now()
		fn()
		if i >= runs/10 {
			took = append(took, time.Since(start))
		}
	}
	slices.Sort(took)
	return [2]time.Duration{took[len(took)/2].Round(time.Millisecond / 10), took[len(took)*95/100].Round(time.Millisecond / 10)}
}

type outboundScaleSeed struct {
	account, campaign, channel parley.ID
}

// seedOutboundScale fills an account with convs conversations (one
// contact each) and sends sends over [from, to), set-wise, unless the
// database has its sends already. Sends: 80% from 50 campaigns, the rest
// quick messages; a third of the contacts texted before the range; 30%
// replied (some after the window), 20% assigned, 10% closed with one of 5
// final tags (one of them a sale).
func seedOutboundScale(ctx context.Context, t *testing.T, db *DB, sends, convs int, from, to time.Time) (outboundScaleSeed, error) {
	var s outboundScaleSeed
	var acc int64
	if err := db.db.GetContext(ctx, &acc, `SELECT COALESCE(MAX(account_id), 0) FROM sends`); err != nil {
		return s, err
	}
	if acc == 0 {
		started := time.Now()
		if err := seedOutboundScaleRows(ctx, db, sends, convs, from, to); err != nil {
			return s, err
		}
		t.Logf("seeded %d sends, %d conversations in %s", sends, convs, time.Since(started).Round(time.Second))
		if err := db.db.GetContext(ctx, &acc, `SELECT MAX(account_id) FROM sends`); err != nil {
			return s, err
		}
	}
	s.account = parley.ID(acc)
	var campaign, channel int64
	if err := db.db.GetContext(ctx, &campaign, db.rebind(`SELECT MIN(id) FROM campaigns WHERE account_id = ?`), acc); err != nil {
		return s, err
	}
	if err := db.db.GetContext(ctx, &channel, db.rebind(`SELECT MIN(id) FROM channels WHERE account_id = ?`), acc); err != nil {
		return s, err
	}
	s.campaign, s.channel = parley.ID(campaign), parley.ID(channel)
	return s, nil
}

func seedOutboundScaleRows(ctx context.Context, db *DB, sends, convs int, from, to time.Time) error {
	at := from.Add(-time.Hour)
	acc, admin, err := db.CreateAccount(ctx, "Outbound scale", conversations.NewUser{Email: "scale@example.com", Name: "Scale", Role: conversations.RoleAdmin},
		conversations.NewTokenSecret(), at)
	if err != nil {
		return err
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: acc.ID, Name: "Sales", Kind: conversations.InboxSupport, CreatedAt: at})
	if err != nil {
		return err
	}
	var channels []int64
	for i := 0; i < 4; i++ {
		ch, err := db.CreateChannel(ctx, conversations.Channel{AccountID: acc.ID, InboxID: inbox.ID, Carrier: conversations.CarrierTwilio,
			CarrierAccountID: "AC" + strings.Repeat("5", 32), AuthToken: "token", PhoneNumber: fmt.Sprintf("+1415555%04d", 9000+i), CreatedAt: at})
		if err != nil {
			return err
		}
		channels = append(channels, int64(ch.ID))
	}
	tx, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.Dialect() == "postgres" {
		// The search triggers and foreign keys would cost a row-wise
		// update per message; the seed's rows are consistent by
		// construction.
		if _, err := tx.ExecContext(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
	}
	maxID := func(table string) (int64, error) {
		var n int64
		err := tx.GetContext(ctx, &n, `SELECT COALESCE(MAX(id), 0) FROM `+table)
		return n, err
	}
	contactBase, err := maxID("contacts")
	if err != nil {
		return err
	}
	convBase, err := maxID("conversations")
	if err != nil {
		return err
	}
	msgBase, err := maxID("messages")
	if err != nil {
		return err
	}
	campBase, err := maxID("campaigns")
	if err != nil {
		return err
	}
	tagBase, err := maxID("tags")
	if err != nil {
		return err
	}
	span := (ms(to) - ms(from)) / int64(sends)
	fromMS, atMS := ms(from), ms(at)
	day := int64(24 * 60 * 60 * 1000)
	hour := day / 24
	series := func(n int) string {
		return `WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(n) + `) `
	}
	chList := func(expr string) string {
		// CASE over the channels by expr % 4.
		var b strings.Builder
		b.WriteString("CASE " + expr + " % 4")
		for i, id := range channels {
			fmt.Fprintf(&b, " WHEN %d THEN %d", i, id)
		}
		b.WriteString(" END")
		return b.String()
	}
	d := func(v int64) string { return strconv.FormatInt(v, 10) }
	// Contact j of conversation j; send i goes to conversation
	// (i * 7919) % convs + 1, so sends spread over contacts.
	conv := `((i * 7919) % ` + strconv.Itoa(convs) + ` + 1)`
	// A contact's sends are every convs-th send: mix varies between them
	// (campaign or quick message, reply, assignment, tag), and a campaign
	// is a block of consecutive sends, as a campaign's run is.
	mix := func(i string) string { return `(` + i + ` + ` + i + ` / ` + strconv.Itoa(convs) + `)` }
	block := int64(max(sends/50, 1))
	sendNo := `(m.id - ` + d(msgBase) + `)`
	stmts := []string{
		series(50) + `INSERT INTO campaigns (id, account_id, name, channel_id, body, audience, origin_type, status, rate_per_second, created_by, created_at, updated_at)
SELECT ` + d(campBase) + ` + i, ` + d(int64(acc.ID)) + `, 'Campaign ' || i, ` + d(channels[0]) + `, 'Hello', '{}',
  CASE WHEN i % 5 = 0 THEN 'template' ELSE 'campaign' END, 'done', 10, ` + d(int64(admin.ID)) + `, ` + d(atMS) + `, ` + d(atMS) + ` FROM n`,
		series(5) + `INSERT INTO tags (id, account_id, name, name_key, type, created_at, updated_at)
SELECT ` + d(tagBase) + ` + i, ` + d(int64(acc.ID)) + `, 'Tag ' || i, 'tag ' || i,
  CASE i WHEN 1 THEN 'sale' WHEN 2 THEN 'negative' WHEN 3 THEN 'positive' WHEN 4 THEN 'follow_up' ELSE 'other' END, ` + d(atMS) + `, ` + d(atMS) + ` FROM n`,
		series(convs) + `INSERT INTO contacts (id, account_id, name, created_at, updated_at)
SELECT ` + d(contactBase) + ` + i, ` + d(int64(acc.ID)) + `, 'Contact ' || i, ` + d(atMS) + `, ` + d(atMS) + ` FROM n`,
		series(convs) + `INSERT INTO conversations (id, account_id, channel_id, inbox_id, contact_id, contact_phone, business_phone, status, last_message_at, created_at, updated_at)
SELECT ` + d(convBase) + ` + i, ` + d(int64(acc.ID)) + `, ` + chList("i") + `, ` + d(int64(inbox.ID)) + `, ` + d(contactBase) + ` + i,
  '+1999' || (1000000 + i), '+14155559000', 'open', ` + d(atMS) + `, ` + d(atMS) + `, ` + d(atMS) + ` FROM n`,
		series(sends) + `INSERT INTO messages (id, account_id, conversation_id, channel_id, direction, kind, body, status, campaign_id, created_at, updated_at)
SELECT ` + d(msgBase) + ` + i, ` + d(int64(acc.ID)) + `, ` + d(convBase) + ` + ` + conv + `, ` + chList(conv) + `, 'outbound', 'text', 'Hello', 'delivered',
  CASE WHEN ` + mix("i") + ` % 5 = 0 THEN NULL ELSE ` + d(campBase) + ` + 1 + (i / ` + d(block) + `) % 50 END, ` + d(fromMS) + ` + i * ` + d(span) + `, ` + d(fromMS) + ` + i * ` + d(span) + ` FROM n`,
		`INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id, campaign_id, origin_type, sent_at, contact_first_sent_at,
  first_reply_at, first_assigned_at, first_assignee_id, final_tag_id, final_tag_type)
SELECT m.id, m.account_id, m.conversation_id, m.conversation_id - ` + d(convBase) + ` + ` + d(contactBase) + `, m.channel_id, m.campaign_id,
  CASE WHEN m.campaign_id IS NULL THEN 'quick_message' WHEN (m.campaign_id - ` + d(campBase) + `) % 5 = 0 THEN 'template' ELSE 'campaign' END,
  m.created_at,
  CASE WHEN m.conversation_id % 3 = 0 THEN ` + d(fromMS-30*day) + ` ELSE ` + d(fromMS) + ` + (m.conversation_id % 1000) * ` + d(hour) + ` END,
  CASE WHEN ` + mix(sendNo) + ` % 10 < 3 THEN m.created_at + (` + mix(sendNo) + ` % 100) * ` + d(hour) + ` END,
  CASE WHEN ` + mix(sendNo) + ` % 10 < 2 THEN m.created_at + (` + mix(sendNo) + ` % 50) * ` + d(hour) + ` END,
  CASE WHEN ` + mix(sendNo) + ` % 10 < 2 THEN ` + d(int64(admin.ID)) + ` END,
  CASE WHEN ` + mix(sendNo) + ` % 10 = 0 THEN ` + d(tagBase) + ` + 1 + (` + mix(sendNo) + ` / 10) % 5 END,
  CASE WHEN ` + mix(sendNo) + ` % 10 = 0 THEN CASE (` + mix(sendNo) + ` / 10) % 5 WHEN 0 THEN 'sale' WHEN 1 THEN 'negative' WHEN 2 THEN 'positive' WHEN 3 THEN 'follow_up' ELSE 'other' END END
FROM messages m WHERE m.account_id = ` + d(int64(acc.ID)),
		strings.Replace(LinkSendsSQL, "?", d(int64(acc.ID)), 1),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%.80s…: %w", q, err)
		}
	}
	return tx.Commit()
}
