package devdb

import (
	"context"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store"
)

// What the outbound report reads, seeded consistently with the
// conversations and messages: tags, the tags on conversations, episodes
// with their final tags, a few campaigns and the sends of their texts and
// of quick messages. One conversation in three was texted by the
// business: some of its outbound texts are campaign texts or quick
// messages (of about a million sends for a million conversations); the
// rest of the seeded outbound texts are staff replies, which are no sends.
// Everything after the rows with explicit ids is written set-wise, an
// INSERT … SELECT per table, as the store itself would have kept it.

// seedTag is a seeded tag and how often a closing episode ends with it,
// in percent (the rest close without a final tag).
type seedTag struct {
	name   string
	typ    conversations.TagType
	weight int
	id     parley.ID
}

// seedTags are the tags every seeded account gets; the first three are
// the demo's (scripts/run-demo.sh).
func seedTags() []seedTag {
	return []seedTag{
		{"Sale", conversations.TagSale, 25, 0},
		{"Follow-up call", conversations.TagFollowUp, 15, 0},
		{"Not interested", conversations.TagNegative, 15, 0},
		{"Happy customer", conversations.TagPositive, 10, 0},
		{"Self-managed", conversations.TagSelfManagementEnd, 5, 0},
		{"Spam", conversations.TagOther, 5, 0},
	}
}

// seedCampaigns are the seeded campaigns' names and origin types.
var seedCampaigns = []struct{ name, origin string }{
	{"Spring offer", "campaign"}, {"Win-back", "campaign"}, {"Review request", "flow"},
	{"Appointment reminder", "template"}, {"Order shipped", "webhook"},
}

// texted says whether the business texted the i-th seeded conversation
// (campaign texts or quick messages).
func texted(conv int) bool { return conv%3 == 0 }

// sendAt says whether the k-th message of the conv-th conversation, an
// outbound one, is a send rather than a staff reply.
func sendAt(conv, k int) bool { return texted(conv) && k%4 == 1 }

// setUpReporting creates the tags and the campaigns (completed) the
// seeded rows refer to, through the store; a tag the account has already
// is reused.
func (g *seedGen) setUpReporting(ctx context.Context, d *DB, st *store.DB) error {
	if g.spec.Conversations == 0 {
		return nil
	}
	have, err := st.ListTags(ctx, g.spec.AccountID, true)
	if err != nil {
		return err
	}
	g.tags = seedTags()
	for i := range g.tags {
		t := &g.tags[i]
		for _, h := range have {
			if h.Name == t.name && h.Type == t.typ {
				t.id = h.ID
			}
		}
		if t.id == 0 {
			tag, err := st.CreateTag(ctx, conversations.NewTag{AccountID: g.spec.AccountID, Name: t.name, Type: t.typ, At: g.spec.Now})
			if err != nil {
				return fmt.Errorf("seed tag %s: %w", t.name, err)
			}
			t.id = tag.ID
		}
	}
	var creator int64
	if err := d.db.GetContext(ctx, &creator, d.db.Rebind(`SELECT MIN(id) FROM users WHERE account_id = ?`), g.spec.AccountID); err != nil {
		return fmt.Errorf("seed campaigns: the account's first user: %w", err)
	}
	for _, sc := range seedCampaigns {
		c, err := st.CreateCampaign(ctx, campaigns.Campaign{AccountID: g.spec.AccountID, Name: sc.name, ChannelID: g.ch.ID,
			Body: "Hi {{first_name|there}}, " + sc.name, Audience: campaigns.Audience{Phones: []string{g.phone(0)}}, OriginType: sc.origin,
			RatePerSecond: 10, CreatedBy: parley.ID(creator), CreatedAt: g.spec.Now.Add(-90 * 24 * time.Hour), UpdatedAt: g.spec.Now})
		if err != nil {
			return fmt.Errorf("seed campaign %s: %w", sc.name, err)
		}
		if _, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE campaigns SET status = 'completed', expand_stage = 3 WHERE id = ?`), c.ID); err != nil {
			return err
		}
		g.campaigns = append(g.campaigns, c.ID)
	}
	return nil
}

// spread maps a row number to 0..99, scattered, without drawing from the
// generator (the seeded conversations and texts stay as they were).
func spread(i int) int { return int((uint64(i) * 0x9E3779B97F4A7C15 >> 40) % 100) }

// finalTag is the final tag of the conv-th conversation's latest closed
// episode: the one it is resolved or closed with, or, for one live
// conversation in four, the Follow-up call it was resolved with before it
// reopened (reopenedBefore). nil: none.
func (g *seedGen) finalTag(conv int, status conversations.Status) *seedTag {
	if len(g.tags) == 0 {
		return nil
	}
	if status != conversations.StatusResolved && status != conversations.StatusClosed {
		if reopenedBefore(g.base["conversations"] + int64(conv)) {
			return &g.tags[1]
		}
		return nil
	}
	r := spread(conv)
	for i := range g.tags {
		if r < g.tags[i].weight {
			return &g.tags[i]
		}
		r -= g.tags[i].weight
	}
	return nil
}

// reopenedBefore says whether a live seeded conversation had an episode
// resolved (20 minutes after it was created, before its seeded texts) and
// reopened: the SQL of the episodes step says the same (id % 4 = 0).
func reopenedBefore(id int64) bool { return id%4 == 0 }

// finalTagArgs are a conversation row's final_tag_id and final_tag_type.
func finalTagArgs(t *seedTag) (id, typ any) {
	if t == nil {
		return nil, nil
	}
	return t.id, string(t.typ)
}

// origin is the campaign of the k-th message of the conv-th conversation
// when it is a campaign text, or the author of a quick message; ok false
// when the message is no send.
func (g *seedGen) origin(conv, k int) (campaignID *parley.ID, author *parley.ID, ok bool) {
	if !sendAt(conv, k) || len(g.campaigns) == 0 {
		return nil, nil, false
	}
	kinds := len(g.campaigns)
	if len(g.res.AgentIDs) > 0 {
		kinds += 2 // quick messages: two in seven sends
	}
	j := (conv/3 + k/4) % kinds
	if j < len(g.campaigns) {
		return &g.campaigns[j], nil, true
	}
	// A quick message assigns an unassigned conversation to its sender:
	// the seeded quick messages are the assignee's, and an unassigned
	// conversation gets campaign texts only.
	if a := g.assignees[conv]; a != nil {
		return nil, a, true
	}
	return &g.campaigns[j%len(g.campaigns)], nil, true
}

// reporting writes, after the conversations and messages, what the
// outbound report reads of them.
func (g *seedGen) reporting(ctx context.Context, d *DB) error {
	if len(g.tags) == 0 {
		return nil
	}
	for _, step := range []struct {
		table string
		run   func(context.Context, *DB) error
	}{{"episodes", g.episodes}, {"conversation_tags", g.conversationTags}, {"sends", g.sends}} {
		if err := step.run(ctx, d); err != nil {
			return fmt.Errorf("seed %s: %w", step.table, err)
		}
		if g.spec.Progress != nil {
			g.spec.Progress(step.table, 1, 1)
		}
	}
	return nil
}

const minute = int64(time.Minute / time.Millisecond)

// episodes gives every seeded conversation its episodes: the earlier,
// resolved one of a reopened live conversation, then the current one,
// closed at the last text with the conversation's final tag when it is
// resolved or closed, else open.
func (g *seedGen) episodes(ctx context.Context, d *DB) error {
	earlier := `INSERT INTO episodes (account_id, conversation_id, opened_at, closed_at, closed_as, closed_by, final_tag_id, final_tag_type)
SELECT account_id, id, created_at, created_at + ?, 'resolved', assignee_id, final_tag_id, final_tag_type
FROM conversations WHERE channel_id = ? AND status NOT IN ('resolved', 'closed') AND id % 4 = 0`
	if _, err := d.db.ExecContext(ctx, d.db.Rebind(earlier), 20*minute, g.ch.ID); err != nil {
		return err
	}
	current := `INSERT INTO episodes (account_id, conversation_id, opened_at, closed_at, closed_as, closed_by, final_tag_id, final_tag_type)
SELECT account_id, id,
    CASE WHEN status NOT IN ('resolved', 'closed') AND id % 4 = 0 THEN created_at + ? ELSE created_at END,
    CASE WHEN status IN ('resolved', 'closed') THEN last_message_at END,
    CASE WHEN status IN ('resolved', 'closed') THEN status END,
    CASE WHEN status IN ('resolved', 'closed') THEN assignee_id END,
    CASE WHEN status IN ('resolved', 'closed') THEN final_tag_id END,
    CASE WHEN status IN ('resolved', 'closed') THEN final_tag_type END
FROM conversations WHERE channel_id = ?`
	_, err := d.db.ExecContext(ctx, d.db.Rebind(current), 30*minute, g.ch.ID)
	return err
}

// conversationTags applies each conversation's final tag a minute before
// the episode closed with it, and marks the tags used.
func (g *seedGen) conversationTags(ctx context.Context, d *DB) error {
	q := `INSERT INTO conversation_tags (account_id, conversation_id, tag_id, applied_by, applied_at)
SELECT account_id, id, final_tag_id, assignee_id,
    CASE WHEN status IN ('resolved', 'closed') THEN last_message_at - ? ELSE created_at + ? END
FROM conversations WHERE channel_id = ? AND final_tag_id IS NOT NULL`
	if _, err := d.db.ExecContext(ctx, d.db.Rebind(q), minute, 19*minute, g.ch.ID); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE tags SET used = TRUE
WHERE account_id = ? AND id IN (SELECT tag_id FROM conversation_tags WHERE account_id = ?)`), g.spec.AccountID, g.spec.AccountID)
	return err
}

// sends records the seeded campaign texts and quick messages as the store
// does when the carrier accepts them, with what the later texts,
// assignments and closes marked: the contact's first reply within the
// widest window, the assignee (the seed has no assignment history: a
// conversation's assignee had it from the start), and the first episode
// closed after the send. Then the contacts get their first send.
func (g *seedGen) sends(ctx context.Context, d *DB) error {
	// Fresh tables have no statistics: without them PostgreSQL plans the
	// look-ups of each send's reply and episode as scans.
	for _, t := range []string{"messages", "conversations", "episodes"} {
		if _, err := d.db.ExecContext(ctx, `ANALYZE `+t); err != nil {
			return err
		}
	}
	q := `INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id, campaign_id, origin_type, sent_at,
    contact_first_sent_at, first_reply_at, first_assigned_at, first_assignee_id, closed_episode_id, final_tag_id, final_tag_type)
SELECT s.id, s.account_id, s.conversation_id, s.contact_id, s.channel_id, s.campaign_id, COALESCE(cp.origin_type, 'quick_message'), s.sent_at,
    MIN(s.sent_at) OVER (PARTITION BY s.contact_id),
    (SELECT MIN(r.created_at) FROM messages r WHERE r.conversation_id = s.conversation_id AND r.direction = 'inbound'
        AND r.created_at >= s.sent_at AND r.created_at <= s.sent_at + ?),
    CASE WHEN s.assignee_id IS NOT NULL THEN s.sent_at END, s.assignee_id,
    e.id, e.final_tag_id, e.final_tag_type
FROM (SELECT m.id, m.account_id, m.conversation_id, cv.contact_id, m.channel_id, m.campaign_id, m.created_at AS sent_at, cv.assignee_id,
        (SELECT e1.id FROM episodes e1 WHERE e1.conversation_id = m.conversation_id AND e1.closed_at >= m.created_at
            ORDER BY e1.closed_at, e1.id LIMIT 1) AS episode_id
    FROM messages m JOIN conversations cv ON cv.id = m.conversation_id
    WHERE m.channel_id = ? AND m.direction = 'outbound' AND (m.campaign_id IS NOT NULL OR m.author_id IS NOT NULL)) s
LEFT JOIN campaigns cp ON cp.id = s.campaign_id
LEFT JOIN episodes e ON e.id = s.episode_id`
	if _, err := d.db.ExecContext(ctx, d.db.Rebind(q), reports.MaxReplyWindow.Milliseconds(), g.ch.ID); err != nil {
		return err
	}
	// Each send carries its contact's first send already: one pass over
	// them, grouped (sends has no index by contact).
	first := `UPDATE contacts SET first_sent_at = f.first_sent_at
FROM (SELECT contact_id, MIN(contact_first_sent_at) AS first_sent_at FROM sends WHERE channel_id = ? GROUP BY contact_id) f
WHERE contacts.id = f.contact_id`
	if _, err := d.db.ExecContext(ctx, d.db.Rebind(first), g.ch.ID); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, d.db.Rebind(store.LinkSendsSQL), g.spec.AccountID)
	return err
}
