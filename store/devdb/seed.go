package devdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// SeedSpec sizes a synthetic inbox for measurements (`parley dev seed`).
type SeedSpec struct {
	AccountID     parley.ID
	Conversations int
	Messages      int // in total, spread over the conversations
	Agents        int
	// Contacts, when more than Conversations, adds contacts without a
	// conversation (campaign audiences); ContactType is every seeded
	// contact's type.
	Contacts    int
	ContactType string
	// Outcomes seeds that many outcomes (with records and links for the
	// types that take one) over the conversations.
	Outcomes int
	// Vocabulary, when set, draws half of each text's words from that
	// many other words, the k-th about 1/k as often as the first (Zipf's
	// law, as in prose): threads then hold many words of their own, as
	// real ones do, instead of the same score of common words.
	Vocabulary int
	Now        time.Time
	Seed       uint64 // for a reproducible data set
	// Progress is told how many rows of each table have been written.
	Progress func(table string, done, total int)
}

// SeedResult names what Seed created.
type SeedResult struct {
	InboxID   parley.ID
	ChannelID parley.ID
	AgentIDs  []parley.ID
}

// seedBatch rows go in one INSERT: large enough to amortise round trips,
// small enough for PostgreSQL's 65535 parameters.
const seedBatch = 1000

// Seed fills an account with realistic-looking conversations and messages:
// contacts with one phone each, statuses and assignees in the proportions
// of a busy inbox, and message bodies drawn from a vocabulary in which some
// words are rare (selective searches) and some common. The inbox, channel
// and agents are created through st; the rows in bulk get explicit ids, so
// that millions insert in large batches without RETURNING.
func (d *DB) Seed(ctx context.Context, st *store.DB, s SeedSpec) (SeedResult, error) {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x5eed))
	var res SeedResult
	tag := fmt.Sprintf("%d", s.Now.UnixMilli())
	inbox, err := st.CreateInbox(ctx, conversations.Inbox{AccountID: s.AccountID, Name: "Seeded " + tag, Kind: conversations.InboxSupport, CreatedAt: s.Now})
	if err != nil {
		return res, err
	}
	res.InboxID = inbox.ID
	ch, err := st.CreateChannel(ctx, conversations.Channel{AccountID: s.AccountID, InboxID: inbox.ID, Carrier: conversations.CarrierTwilio,
		PhoneNumber: "+1628" + tag[len(tag)-7:], CarrierAccountID: "ACseed" + tag, AuthToken: "seed", CreatedAt: s.Now})
	if err != nil {
		return res, err
	}
	res.ChannelID = ch.ID
	for i := 0; i < s.Agents; i++ {
		u, _, err := st.CreateUser(ctx, s.AccountID, conversations.NewUser{Email: fmt.Sprintf("agent%d-%s@seed.example", i, tag),
			Name: fmt.Sprintf("Agent %d", i), Role: conversations.RoleAgent}, conversations.NewTokenSecret(), s.Now)
		if err != nil {
			return res, err
		}
		res.AgentIDs = append(res.AgentIDs, u.ID)
	}
	base, err := d.nextIDs(ctx)
	if err != nil {
		return res, err
	}
	g := seedGen{spec: s, res: res, rng: rng, ch: ch, base: base}
	if s.Vocabulary > 1 {
		g.zipf = rand.NewZipf(rng, 1.07, 1, uint64(s.Vocabulary-1))
	}
	if err := g.setUpReporting(ctx, d, st); err != nil {
		return res, err
	}
	if err := d.seedSearchTrigger(ctx, false); err != nil {
		return res, err
	}
	for _, step := range []func(context.Context, *DB) error{g.contacts, g.conversations, g.messages, g.reporting, g.outcomes} {
		if err := step(ctx, d); err != nil {
			_ = d.seedSearchTrigger(ctx, true)
			return res, err
		}
	}
	if err := d.rebuildSearch(ctx, ch.ID); err != nil {
		_ = d.seedSearchTrigger(ctx, true)
		return res, err
	}
	if err := d.seedSearchTrigger(ctx, true); err != nil {
		return res, err
	}
	return res, d.afterSeed(ctx)
}

// seedSearchTrigger switches PostgreSQL's per-row search triggers off for
// a bulk load (rebuildSearch then builds the documents and their words in
// one pass each) and back on. ALTER TABLE locks the tables: a tool for
// measurement databases.
func (d *DB) seedSearchTrigger(ctx context.Context, on bool) error {
	if !d.searchDocuments() {
		return nil
	}
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, q := range []string{`ALTER TABLE messages ` + verb + ` TRIGGER messages_search_add`,
		`ALTER TABLE conversations ` + verb + ` TRIGGER conversations_search_words`} {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// searchDocuments says whether conversations carry their own search
// document (search_tsv and the words of search_words): PostgreSQL's. On
// SQLite the FTS5 tables' triggers keep the search index as rows go in.
func (d *DB) searchDocuments() bool { return d.postgres }

// rebuildSearch computes the search documents of a channel's conversations
// and adds their new words to search_words (what the triggers of
// migrations 00005 and 00016 do a row at a time).
func (d *DB) rebuildSearch(ctx context.Context, channelID parley.ID) error {
	if !d.searchDocuments() {
		return nil
	}
	const q = `UPDATE conversations cv SET search_tsv = strip(to_tsvector('simple', ct.name) || to_tsvector('simple', COALESCE(agg.bodies, '')))
FROM contacts ct, (SELECT conversation_id, string_agg(body, ' ') AS bodies FROM messages GROUP BY conversation_id) agg
WHERE cv.channel_id = $1 AND ct.id = cv.contact_id AND agg.conversation_id = cv.id`
	if _, err := d.db.ExecContext(ctx, q, channelID); err != nil {
		return err
	}
	const words = `INSERT INTO search_words (word)
SELECT word FROM ts_stat(format('SELECT search_tsv FROM conversations WHERE channel_id = %s', $1::bigint)) s
WHERE NOT EXISTS (SELECT 1 FROM search_words w WHERE w.word = s.word COLLATE "C")`
	_, err := d.db.ExecContext(ctx, words, channelID)
	return err
}

// nextIDs returns the first free id of each seeded table.
func (d *DB) nextIDs(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range seededTables {
		var max int64
		if err := d.db.GetContext(ctx, &max, `SELECT COALESCE(MAX(id), 0) FROM `+t); err != nil {
			return nil, err
		}
		out[t] = max + 1
	}
	return out, nil
}

// seededTables are the tables Seed writes with explicit ids.
var seededTables = []string{"contacts", "conversations", "messages", "records", "outcomes"}

// afterSeed moves the generated ids past the explicit ones and refreshes
// planner statistics. SQLite never analyzes by itself, so an empty
// table's statistics would stand for it however it grew: the planner
// keeps its defaults for those, as on a database Parley made (a seeded
// audience's receipts otherwise scanned every text's carrier id).
func (d *DB) afterSeed(ctx context.Context) error {
	if err := d.moveIDsPast(ctx, seededTables); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, `ANALYZE`); err != nil || d.postgres {
		return err
	}
	_, err := d.db.ExecContext(ctx, `DELETE FROM sqlite_stat1 WHERE stat = '0' OR stat LIKE '0 %'`)
	return err
}

type seedGen struct {
	spec SeedSpec
	res  SeedResult
	rng  *rand.Rand
	ch   conversations.Channel
	base map[string]int64
	// zipf draws from the vocabulary (nil without one).
	zipf *rand.Zipf
	// lastAt is each conversation's last activity, shared by the steps.
	lastAt []time.Time
	// assignees are the conversations' assignees (nil: none).
	assignees []*parley.ID
	// tags and campaigns are what the outbound report's rows refer to
	// (setUpReporting); none when no conversations are seeded.
	tags      []seedTag
	campaigns []parley.ID
}

func (g *seedGen) phone(i int) string { return fmt.Sprintf("+1628%07d", 2000000+i) }

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "Tim", "Hedy", "Linus", "Shafi", "Niklaus"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Berners-Lee", "Lamarr", "Torvalds", "Goldwasser", "Wirth"}
	// Common words appear in most texts; rare ones in about one in a
	// thousand, so both broad and selective searches can be measured.
	commonWords = strings.Fields("hi hello thanks please when can you the a my is it for order quote today tomorrow price job visit time")
	rareWords   = strings.Fields("gutter skylight invoice chimney drywall asbestos plumbing gazebo sandblast retaining pergola")
	statuses    = []struct {
		s      conversations.Status
		weight int
	}{{"new", 10}, {"open", 30}, {"pending", 10}, {"snoozed", 5}, {"resolved", 35}, {"closed", 10}}
)

func (g *seedGen) contacts(ctx context.Context, db *DB) error {
	n := max(g.spec.Conversations, g.spec.Contacts)
	return insertBatches(ctx, db, "contacts", n, g.spec.Progress, func(i int) (string, []any) {
		id := g.base["contacts"] + int64(i)
		name := firstNames[g.rng.IntN(len(firstNames))] + " " + lastNames[g.rng.IntN(len(lastNames))]
		at := ms(g.spec.Now)
		return "(?, ?, ?, ?, '{}', ?, ?)", []any{id, g.spec.AccountID, name, g.spec.ContactType, at, at}
	}, `INSERT INTO contacts (id, account_id, name, type, attributes, created_at, updated_at) VALUES `, func(ctx context.Context, tx *sqlx.Tx, from, to int) error {
		// The phones of the same batch.
		var vals []string
		var args []any
		for i := from; i < to; i++ {
			vals = append(vals, "(?, ?, ?, 0)")
			args = append(args, g.spec.AccountID, g.phone(i), g.base["contacts"]+int64(i))
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO contact_phones (account_id, phone, contact_id, position) VALUES `+strings.Join(vals, ", ")), args...)
		return err
	})
}

func (g *seedGen) conversations(ctx context.Context, db *DB) error {
	n := g.spec.Conversations
	g.lastAt = make([]time.Time, n)
	g.assignees = make([]*parley.ID, n)
	return insertBatches(ctx, db, "conversations", n, g.spec.Progress, func(i int) (string, []any) {
		id := g.base["conversations"] + int64(i)
		last := g.spec.Now.Add(-time.Duration(g.rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Millisecond)
		g.lastAt[i] = last
		status := g.status()
		var assignee *parley.ID
		if len(g.res.AgentIDs) > 0 && status != conversations.StatusNew && g.rng.IntN(100) < 85 {
			assignee = &g.res.AgentIDs[g.rng.IntN(len(g.res.AgentIDs))]
		}
		g.assignees[i] = assignee
		finalID, finalType := finalTagArgs(g.finalTag(i, status))
		var snoozed *int64
		if status == conversations.StatusSnoozed {
			v := ms(g.spec.Now.Add(24 * time.Hour))
			snoozed = &v
		}
		phone := g.phone(i)
		return "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'none', ?, ?, ?, ?, ?, ?, ?, ?)", []any{id, g.spec.AccountID, g.ch.ID, g.ch.InboxID,
			g.base["contacts"] + int64(i), phone, reversedDigits(phone), g.ch.PhoneNumber, string(status), assignee, snoozed,
			ms(last), ms(last), ms(last.Add(-time.Hour)), ms(last), finalID, finalType}
	}, `INSERT INTO conversations (id, account_id, channel_id, inbox_id, contact_id, contact_phone, contact_phone_rev, business_phone,
    status, priority, assignee_id, snoozed_until, last_message_at, last_inbound_at, created_at, updated_at, final_tag_id, final_tag_type) VALUES `, nil)
}

func (g *seedGen) status() conversations.Status {
	r := g.rng.IntN(100)
	for _, s := range statuses {
		if r < s.weight {
			return s.s
		}
		r -= s.weight
	}
	return conversations.StatusOpen
}

func (g *seedGen) messages(ctx context.Context, db *DB) error {
	n, convs := g.spec.Messages, g.spec.Conversations
	if convs == 0 {
		return nil
	}
	return insertBatches(ctx, db, "messages", n, g.spec.Progress, func(i int) (string, []any) {
		id := g.base["messages"] + int64(i)
		conv := i % convs
		k := i / convs // the k-th message of its conversation, oldest first
		at := g.lastAt[conv].Add(-time.Duration(n/convs-k) * time.Minute)
		dir, status := "inbound", "received"
		var campaignID, author *parley.ID
		if k%2 == 1 {
			dir, status = "outbound", "delivered"
			campaignID, author, _ = g.origin(conv, k)
		}
		return "(?, ?, ?, ?, ?, 'text', ?, '[]', ?, 1, ?, ?, ?, ?)", []any{id, g.spec.AccountID, g.base["conversations"] + int64(conv),
			g.ch.ID, dir, g.body(), status, author, campaignID, ms(at), ms(at)}
	}, `INSERT INTO messages (id, account_id, conversation_id, channel_id, direction, kind, body, media_urls, status, segments,
    author_id, campaign_id, created_at, updated_at) VALUES `, nil)
}

func (g *seedGen) body() string {
	words := make([]string, 4+g.rng.IntN(12))
	for i := range words {
		if g.zipf != nil && g.rng.IntN(2) == 0 {
			words[i] = vocabularyWord(g.zipf.Uint64())
			continue
		}
		words[i] = commonWords[g.rng.IntN(len(commonWords))]
	}
	if g.rng.IntN(1000) == 0 {
		words[g.rng.IntN(len(words))] = rareWords[g.rng.IntN(len(rareWords))]
	}
	return strings.Join(words, " ")
}

// vocabularyWord is the k-th word of a seeded vocabulary: syllables
// spelling k after a "q" and a consonant, which none of the fixed word
// lists have, so that the listbench's words keep the frequencies they
// were chosen for.
func vocabularyWord(k uint64) string {
	const consonants, vowels = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	b.WriteByte('q')
	for {
		b.WriteByte(consonants[k%uint64(len(consonants))])
		k /= uint64(len(consonants))
		b.WriteByte(vowels[k%uint64(len(vowels))])
		k /= uint64(len(vowels))
		if k == 0 {
			return b.String()
		}
	}
}

// insertBatches inserts n generated rows seedBatch at a time, one
// transaction per batch; also runs in the same transaction when non-nil.
func insertBatches(ctx context.Context, db *DB, table string, n int, progress func(string, int, int),
	row func(i int) (string, []any), prefix string, also func(ctx context.Context, tx *sqlx.Tx, from, to int) error) error {
	for from := 0; from < n; from += seedBatch {
		to := min(from+seedBatch, n)
		vals := make([]string, 0, to-from)
		var args []any
		for i := from; i < to; i++ {
			v, a := row(i)
			vals = append(vals, v)
			args = append(args, a...)
		}
		err := db.inTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, tx.Rebind(prefix+strings.Join(vals, ", ")), args...); err != nil {
				return fmt.Errorf("seed %s: %w", table, err)
			}
			if also != nil {
				return also(ctx, tx, from, to)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(table, to, n)
		}
	}
	return nil
}

// inTx runs fn in a transaction of the tools' connection, committing when
// it returns nil.
func (d *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := d.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ms is a time as the store keeps it: Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// reversedDigits is a phone's digits back to front, as the store keeps
// contact_phone_rev for searches by a number's last digits (the seeded
// lists' "q=0042" finds nothing if the two ever differ).
func reversedDigits(phone string) string {
	out := make([]byte, 0, len(phone))
	for i := len(phone) - 1; i >= 0; i-- {
		if c := phone[i]; c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}
