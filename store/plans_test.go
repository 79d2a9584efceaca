package store_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// bigTables are the tables a statement of the send and receipt paths must
// never read whole, nor an account's or channel's part of them with the
// batch's keys as a filter.
var bigTables = regexp.MustCompile(`Seq Scan on (messages|events|contacts|contact_phones|consents|conversations|campaign_recipients|episodes|outbox|sends)\b|Filter: \((\w+\.)?\w+ = ANY \(\$\d+\)\)|Filter: \((\w+\.)?\w+ = (k|v)(_\d+)?\.\w+\)`)

// TestKeyedStatementsReadByIndexWhateverTheStatistics: PostgreSQL keeps
// a prepared statement's generic plan, made from the statistics of the
// moment. Made while the tables were small, a join by key became a scan of
// the whole table, kept as the table grew: a receipt batch read 13,600
// pages at 5,000 texts. Each statement must read its rows by index even
// when its plan was made for any batch while the tables were small.
func TestKeyedStatementsReadByIndexWhateverTheStatistics(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	// A campaign's first texts queued, on a database never analyzed:
	// where a fresh installation's tables stand when their plans are made.
	tn := newTenant(t, db, newSID("AC"), bizA)
	phones := make([]string, 500)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628555%04d", i)
	}
	tn.startCampaign(t, campaigns.Audience{Phones: phones}, 1000)
	tn.advance(t, t0.Add(time.Second))
	conn, err := storetest.DevDB(t, db).SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	params := regexp.MustCompile(`\$(\d+)`)
	i := 0
	// Planned on a database never analyzed, then on one analyzed while
	// the campaign's 500 texts, their sends and as many opt-outs were all
	// there was.
	for _, when := range []string{"never analyzed", "analyzed small"} {
		if when == "analyzed small" {
			if _, err := conn.ExecContext(ctx, `INSERT INTO consents (account_id, phone, opted_out, changed_at)
SELECT $1, '+1415000' || lpad(n::text, 4, '0'), true, 0 FROM generate_series(1, 500) n`, tn.account.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id,
    campaign_id, origin_type, sent_at, contact_first_sent_at)
SELECT m.id, m.account_id, m.conversation_id, cv.contact_id, m.channel_id, m.campaign_id, 'campaign', 0, 0
FROM messages m JOIN conversations cv ON cv.id = m.conversation_id`); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		for what, q := range store.KeyedStatements() {
			i++
			n := 0
			for _, m := range params.FindAllStringSubmatch(q, -1) {
				var k int
				fmt.Sscan(m[1], &k)
				n = max(n, k)
			}
			name := fmt.Sprintf("keyed%d", i)
			if _, err := conn.ExecContext(ctx, `PREPARE `+name+` AS `+q); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`(`+strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ")+`)`)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			var plan strings.Builder
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(line + "\n")
			}
			rows.Close()
			if bigTables.MatchString(plan.String()) {
				t.Errorf("%s: planned %s, it reads a table whole:\n%s", what, when, plan.String())
			}
		}
	}
}

// TestCountTriggerReadsOnlyTheMovedTextsRecipients: the messages
// trigger's plan is kept for the session, made from the statistics of the
// moment. Analyzed while few recipients had texts, it was a hash join
// over every recipient with a text: each acceptance or receipt batch read
// the campaign's whole queue (259 recipient rows a text over a 20,000
// campaign). Whatever the statistics, a batch reads its own texts'
// recipients, one probe each.
func TestCountTriggerReadsOnlyTheMovedTextsRecipients(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	audience := func(from, n int) campaigns.Audience {
		phones := make([]string, n)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628555%04d", from+i)
		}
		return campaigns.Audience{Phones: phones}
	}
	tn.startCampaign(t, audience(0, 1000), 10)
	tn.advance(t, t0.Add(time.Second)) // a few texts queued, the rest pending
	tools := storetest.DevDB(t, db).SQL()
	if _, err := tools.ExecContext(ctx, `ANALYZE campaign_recipients`); err != nil {
		t.Fatal(err)
	}
	c := tn.startCampaign(t, audience(1000, 1000), 1000)
	tn.advance(t, t0.Add(2*time.Second))
	tx, err := tools.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const n = 40
	res, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'sending'
WHERE id IN (SELECT id FROM messages WHERE campaign_id = $1 ORDER BY id LIMIT $2)`, c.ID, n)
	if err != nil {
		t.Fatal(err)
	}
	if moved, _ := res.RowsAffected(); moved != n {
		t.Fatalf("moved %d texts, want %d", moved, n)
	}
	var read int
	if err := tx.QueryRowxContext(ctx, `SELECT COALESCE(idx_tup_fetch, 0) + seq_tup_read FROM pg_stat_xact_user_tables
WHERE schemaname = current_schema() AND relname = 'campaign_recipients'`).Scan(&read); err != nil {
		t.Fatal(err)
	}
	if read > n {
		t.Errorf("moving %d texts read %d recipient rows; want their own %d", n, read, n)
	}
}

// TestCountTriggerLooksUpEachTextOnce: a statement that moves n campaign
// texts looks up each text's recipient once, by index. The messages
// trigger did it once for every pair of old and new rows (n² lookups),
// and a plan kept from while the recipients were few read them whole.
func TestCountTriggerLooksUpEachTextOnce(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	const n = 40
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628555%04d", i)
	}
	c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 100)
	tn.advance(t, t0.Add(time.Second))
	tools := storetest.DevDB(t, db).SQL()
	if _, err := tools.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	tx, err := tools.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Planned while the campaign was small: the plan is kept for the
	// session, and used again below.
	for range 6 {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = status WHERE campaign_id = $1 AND id < 0`, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'sending' WHERE campaign_id = $1`, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved, _ := res.RowsAffected(); moved != n {
		t.Fatalf("moved %d texts, want %d", moved, n)
	}
	var seqScans, idxScans int
	if err := tx.QueryRowxContext(ctx, `SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables
WHERE schemaname = current_schema() AND relname = 'campaign_recipients'`).Scan(&seqScans, &idxScans); err != nil {
		t.Fatal(err)
	}
	if seqScans > 0 || idxScans > n {
		t.Errorf("moving %d texts read their recipients by %d scans and %d index lookups; want none and at most %d", n, seqScans, idxScans, n)
	}
	var counted int
	if err := tx.GetContext(ctx, &counted, `SELECT COALESCE(SUM(moved), 0) FROM campaign_count_changes WHERE campaign_id = $1 AND to_message = 'sending'`, c.ID); err != nil {
		t.Fatal(err)
	}
	if counted != n {
		t.Errorf("the trigger counted %d texts moved to sending, want %d", counted, n)
	}
}
