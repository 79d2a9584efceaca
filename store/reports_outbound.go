package store

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
)

// The outbound report (reports.OutboundStore). Every figure, audit row and
// exported row is read through outboundSends, so the same filter always
// selects the same sends and marks them the same way: the summary's counts
// are the counts of the audit's rows.

var _ reports.OutboundStore = (*DB)(nil)

// outboundSends is a filter's sends: where is the condition on sends s
// (the account and the range lead, so that sends_report is walked), and
// the flags are 0/1 expressions of a send under the filter's reply window
// and range. The window and the range's start are written as literals in
// the flags (they are integers), so that the flags can stand in a SELECT
// list without their arguments' order depending on where they stand.
type outboundSends struct {
	where string
	args  []any
	// replied, assigned: the reply or the first assignment after the send
	// came within the window; sale: the first episode closed after the
	// send closed with a sale tag; isNew: the contact's first send ever is
	// in the range or after it.
	replied, assigned, sale, isNew string
	// window is the reply window in milliseconds.
	window string
	// firsts flag a send as its contact's first in the filter's sends,
	// overall, of its origin type and of its campaign, from the send's
	// links to its previous ones (prev_*_sent_at); "" when a filter keeps
	// sends those links cannot speak for (a final tag, several campaigns
	// by name), and the summary sorts instead.
	firstContact, firstOrigin, firstCampaign string
}

// outboundQuery turns the filter into the sends it keeps.
func (d dialect) outboundQuery(f reports.OutboundFilter) outboundSends {
	window := f.ReplyWindow
	if window <= 0 {
		window = reports.DefaultReplyWindow
	}
	w := strconv.FormatInt(window.Milliseconds(), 10)
	from := strconv.FormatInt(ms(f.From), 10)
	q := outboundSends{
		window:   w,
		replied:  "CASE WHEN s.first_reply_at < s.sent_at + " + w + " THEN 1 ELSE 0 END",
		assigned: "CASE WHEN s.first_assigned_at < s.sent_at + " + w + " THEN 1 ELSE 0 END",
		sale:     "CASE WHEN s.final_tag_type = 'sale' THEN 1 ELSE 0 END",
		isNew:    "CASE WHEN s.contact_first_sent_at >= " + from + " THEN 1 ELSE 0 END",
	}
	conds := []string{"s.account_id = ?", "s.sent_at >= ?", "s.sent_at < ?"}
	args := []any{f.AccountID, ms(f.From), ms(f.To)}
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if f.ChannelID != nil {
		add("s.channel_id = ?", *f.ChannelID)
	}
	if f.OriginType != "" {
		add("s.origin_type = ?", f.OriginType)
	}
	if f.CampaignID != nil {
		add("s.campaign_id = ?", *f.CampaignID)
	}
	if f.CampaignName != "" {
		// The account's campaigns are few: the subquery lists the ones
		// named so, and the sends are checked against that list. The name
		// is matched as the records' search matches (containsFold), every
		// letter in any case: SQLite's LOWER and LIKE fold ASCII only.
		named, arg := d.containsFold("c.name", searchText(f.CampaignName))
		conds = append(conds, `s.campaign_id IN (SELECT c.id FROM campaigns c WHERE c.account_id = ? AND `+named+`)`)
		args = append(args, f.AccountID, arg)
	}
	if f.TagType != "" {
		add("s.final_tag_type = ?", string(f.TagType))
	}
	if f.FinalTagID != nil {
		add("s.final_tag_id = ?", *f.FinalTagID)
	}
	switch f.ContactKind {
	case reports.ContactNew:
		add("s.contact_first_sent_at >= ?", ms(f.From))
	case reports.ContactRecurring:
		add("s.contact_first_sent_at < ?", ms(f.From))
	}
	q.where, q.args = strings.Join(conds, " AND "), args
	q.firstContact, q.firstOrigin, q.firstCampaign = firstSendFlags(f, from)
	return q
}

// firstSendFlags flags a send as its contact's first among the filter's
// sends, overall, of its origin type and of its campaign. A send's
// previous send of the same kind (the same contact, and the same value of
// whatever the filter keeps by) is among the filter's sends exactly when
// it is in the range: it is no later than the send, and a contact's kind
// is the same on all its sends. So the send is the first when there is
// none or it is before from. Which previous send is "of the same kind"
// depends on the filter: one campaign implies its channel and origin
// type. A filter on final tags or on campaigns by name keeps sends whose
// previous ones may be left out for another reason: no flags then.
func firstSendFlags(f reports.OutboundFilter, from string) (contact, origin, campaign string) {
	if f.TagType != "" || f.FinalTagID != nil || f.CampaignName != "" {
		return "", "", ""
	}
	first := func(prev string) string {
		return "CASE WHEN s." + prev + " IS NULL OR s." + prev + " < " + from + " THEN 1 ELSE 0 END"
	}
	campaign = first("prev_campaign_sent_at")
	switch {
	case f.CampaignID != nil:
		return campaign, campaign, campaign
	case f.ChannelID != nil && f.OriginType != "":
		return first("prev_channel_origin_sent_at"), first("prev_channel_origin_sent_at"), campaign
	case f.ChannelID != nil:
		return first("prev_channel_sent_at"), first("prev_channel_origin_sent_at"), campaign
	case f.OriginType != "":
		return first("prev_origin_sent_at"), first("prev_origin_sent_at"), campaign
	}
	return first("prev_sent_at"), first("prev_origin_sent_at"), campaign
}

// OutboundReport computes the summary and the detailed table in one
// statement (see outboundSummarySQL).
func (db *DB) OutboundReport(ctx context.Context, f reports.OutboundFilter) (reports.OutboundReport, error) {
	return db.outboundReport(ctx, db.dialect.outboundQuery(f))
}

func (db *DB) outboundReport(ctx context.Context, q outboundSends) (reports.OutboundReport, error) {
	var rep reports.OutboundReport
	tx, err := db.readSnapshot(ctx)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	if err := db.tuneOutboundReport(ctx, tx); err != nil {
		return rep, translate(err)
	}
	rows, err := tx.QueryContext(ctx, tx.Rebind(outboundSummarySQL(q)), q.args...)
	if err != nil {
		return rep, translate(err)
	}
	defer rows.Close()
	fold := newOutboundFold()
	for rows.Next() {
		g, err := scanOutboundGroup(rows)
		if err != nil {
			return rep, translate(err)
		}
		fold.add(g)
	}
	if err := rows.Err(); err != nil {
		return rep, translate(err)
	}
	return fold.report(), nil
}

// tuneOutboundReport gives PostgreSQL, for this transaction, the memory
// to group a year of sends in memory rather than in temporary files, and
// no JIT: compiling the statement cost half a second at 1M sends.
func (db *DB) tuneOutboundReport(ctx context.Context, tx *sqlx.Tx) error {
	if db.dialect.name() != "postgres" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`)
	return err
}

// outboundSummarySQL is the summary's statement: one scan of the
// filter's sends grouped by origin type, campaign and final tag. Distinct
// contacts cannot be summed across groups, so each send is flagged as its
// contact's first overall, of its origin type and of its campaign, and
// the groups give every figure by sums alone: the total's contacts are
// the sum of first-of-contact flags, an origin type's the sum of its
// first-of-origin flags, a campaign's the sum of its first-of-campaign
// flags; a contact's kind is its first send's. The flags come from the
// sends' links to their previous ones when the filter allows
// (firstSendFlags), else from one sort of the sends by contact.
func outboundSummarySQL(q outboundSends) string {
	if q.firstContact == "" {
		return outboundSortedSummarySQL(q)
	}
	return `SELECT s.origin_type, s.campaign_id, s.final_tag_id,
       COALESCE((SELECT c.name FROM campaigns c WHERE c.id = s.campaign_id), ''),
       COALESCE((SELECT t.name FROM tags t WHERE t.id = s.final_tag_id), ''),
       COALESCE((SELECT t.type FROM tags t WHERE t.id = s.final_tag_id), ''),
       COUNT(*), SUM(` + q.firstContact + `), SUM(` + q.firstOrigin + `), SUM(` + q.firstCampaign + `),
       SUM((` + q.firstContact + `) * (` + q.isNew + `)),
       SUM(` + q.replied + `), SUM(` + q.assigned + `), SUM(` + q.sale + `)
FROM sends s WHERE ` + q.where + `
GROUP BY s.origin_type, s.campaign_id, s.final_tag_id`
}

// outboundSortedSummarySQL flags each send in the order of its contact's
// sends by origin type and campaign (one window over one sort).
func outboundSortedSummarySQL(q outboundSends) string {
	return `WITH w AS (
  SELECT s.origin_type AS origin_type, s.campaign_id AS campaign_id, s.final_tag_id AS tag_id,
         ` + q.replied + ` AS replied, ` + q.assigned + ` AS assigned, ` + q.sale + ` AS sale, ` + q.isNew + ` AS is_new,
         ROW_NUMBER() OVER by_contact AS nth, LAG(s.origin_type) OVER by_contact AS prev_origin,
         LAG(s.campaign_id) OVER by_contact AS prev_campaign
  FROM sends s WHERE ` + q.where + `
  WINDOW by_contact AS (PARTITION BY s.contact_id ORDER BY s.origin_type, s.campaign_id)
)
SELECT origin_type, campaign_id, tag_id,
       COALESCE((SELECT c.name FROM campaigns c WHERE c.id = campaign_id), ''),
       COALESCE((SELECT t.name FROM tags t WHERE t.id = tag_id), ''),
       COALESCE((SELECT t.type FROM tags t WHERE t.id = tag_id), ''),
       COUNT(*),
       SUM(CASE WHEN nth = 1 THEN 1 ELSE 0 END),
       SUM(CASE WHEN nth = 1 OR prev_origin <> origin_type THEN 1 ELSE 0 END),
       SUM(CASE WHEN nth = 1 OR prev_origin <> origin_type OR COALESCE(prev_campaign, 0) <> COALESCE(campaign_id, 0) THEN 1 ELSE 0 END),
       SUM(CASE WHEN nth = 1 THEN is_new ELSE 0 END),
       SUM(replied), SUM(assigned), SUM(sale)
FROM w GROUP BY origin_type, campaign_id, tag_id`
}

// outboundGroup is one row of the summary: the sends of one origin type,
// campaign (or none) and final tag (or none).
type outboundGroup struct {
	origin                          string
	campaign, tag                   *int64
	campaignName, tagName, tagType  string
	sends, contacts, originContacts int64
	campaignContacts, newContacts   int64
	replied, assigned, sales        int64
}

// scanOutboundGroup reads one row of the summary.
func scanOutboundGroup(rows *sql.Rows) (outboundGroup, error) {
	var g outboundGroup
	err := rows.Scan(&g.origin, &g.campaign, &g.tag, &g.campaignName, &g.tagName, &g.tagType, &g.sends, &g.contacts,
		&g.originContacts, &g.campaignContacts, &g.newContacts, &g.replied, &g.assigned, &g.sales)
	return g, err
}

// add folds the groups into the report: every group into the totals and
// its origin type, a campaign's into its campaign, a tagged one into its
// final tag.
func (rep *outboundFold) add(g outboundGroup) {
	counts := func(contacts int64) reports.OutboundCounts {
		return reports.OutboundCounts{Sends: g.sends, Contacts: contacts, Replied: g.replied, Assigned: g.assigned, Sales: g.sales}
	}
	addCounts(&rep.Totals, counts(g.contacts))
	rep.NewContacts += g.newContacts
	rep.RecurringContacts += g.contacts - g.newContacts
	o := rep.origins[g.origin]
	if o == nil {
		o = &reports.OriginTypeCounts{OriginType: g.origin}
		rep.origins[g.origin] = o
	}
	addCounts(&o.OutboundCounts, counts(g.originContacts))
	if g.campaign != nil {
		c := rep.campaigns[*g.campaign]
		if c == nil {
			c = &reports.CampaignCounts{CampaignID: parley.ID(*g.campaign), Name: g.campaignName, OriginType: g.origin}
			rep.campaigns[*g.campaign] = c
		}
		addCounts(&c.OutboundCounts, counts(g.campaignContacts))
	}
	if g.tag != nil {
		t := rep.tags[*g.tag]
		if t == nil {
			t = &reports.FinalTagCount{TagID: parley.ID(*g.tag), Name: g.tagName, Type: conversations.TagType(g.tagType)}
			rep.tags[*g.tag] = t
		}
		t.Count += g.sends
	}
}

// outboundFold gathers the report from its groups.
type outboundFold struct {
	reports.OutboundReport
	origins   map[string]*reports.OriginTypeCounts
	campaigns map[int64]*reports.CampaignCounts
	tags      map[int64]*reports.FinalTagCount
}

func newOutboundFold() *outboundFold {
	return &outboundFold{origins: map[string]*reports.OriginTypeCounts{}, campaigns: map[int64]*reports.CampaignCounts{},
		tags: map[int64]*reports.FinalTagCount{}}
}

// report is the folded report, in the order reports.OutboundReport says.
func (rep *outboundFold) report() reports.OutboundReport {
	out := rep.OutboundReport
	for _, o := range rep.origins {
		out.ByOriginType = append(out.ByOriginType, *o)
	}
	for _, c := range rep.campaigns {
		out.ByCampaign = append(out.ByCampaign, *c)
	}
	for _, t := range rep.tags {
		out.FinalTags = append(out.FinalTags, *t)
	}
	sortOutboundReport(&out)
	return out
}

func addCounts(c *reports.OutboundCounts, d reports.OutboundCounts) {
	c.Sends += d.Sends
	c.Contacts += d.Contacts
	c.Replied += d.Replied
	c.Assigned += d.Assigned
	c.Sales += d.Sales
}

// sortOutboundReport orders the parts as reports.OutboundReport says.
func sortOutboundReport(rep *reports.OutboundReport) {
	sort.Slice(rep.ByOriginType, func(i, j int) bool { return rep.ByOriginType[i].OriginType < rep.ByOriginType[j].OriginType })
	sort.Slice(rep.ByCampaign, func(i, j int) bool {
		a, b := rep.ByCampaign[i], rep.ByCampaign[j]
		if a.CampaignID != b.CampaignID {
			return a.CampaignID < b.CampaignID
		}
		return a.OriginType < b.OriginType
	})
	sort.Slice(rep.FinalTags, func(i, j int) bool {
		a, b := rep.FinalTags[i], rep.FinalTags[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.TagID < b.TagID
	})
}

// OutboundAudit lists the filter's sends after the cursor, one keyset
// page of sends_report.
func (db *DB) OutboundAudit(ctx context.Context, f reports.OutboundFilter, after *reports.AuditCursor, limit int) ([]reports.AuditRow, bool, error) {
	limit = min(max(limit, 1), reports.MaxAuditPage)
	start := keyset{at: keysetStart}
	if after != nil {
		start = keyset{at: ms(after.SentAt), id: int64(after.SendID)}
	}
	rows, err := outboundAuditPage(ctx, db.db, db.dialect.outboundQuery(f), start, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// keyset is a position in an export or audit's order: after the row
// created (or sent) at at with id id.
type keyset struct{ at, id int64 }

// keysetStart is before every time.
const keysetStart = -1 << 62

// outboundAuditSQL reads a page of audit rows. The first condition on
// the key is implied by the second; it is the one the walk of
// sends_report can start at, so that a late page costs what the first
// does.
func outboundAuditSQL(q outboundSends) string {
	return outboundAuditRowsSQL(q) + ` AND s.sent_at >= ? AND (s.sent_at > ? OR (s.sent_at = ? AND s.message_id > ?))
ORDER BY s.sent_at, s.message_id LIMIT ?`
}

// outboundAuditRowsSQL selects the filter's audit rows: the reply and the
// assignee only when they came within the window, the flags as 0/1.
func outboundAuditRowsSQL(q outboundSends) string {
	return `SELECT s.message_id, s.sent_at, s.campaign_id, COALESCE(c.name, ''), s.origin_type, s.channel_id, s.contact_id,
       COALESCE(ct.name, ''), cv.contact_phone, m.status,
       CASE WHEN s.first_reply_at < s.sent_at + ` + q.window + ` THEN s.first_reply_at END,
       CASE WHEN s.first_assigned_at < s.sent_at + ` + q.window + ` THEN s.first_assignee_id END,
       COALESCE(tg.name, ''), COALESCE(s.final_tag_type, ''), ` + q.sale + `, ` + q.isNew + `, s.conversation_id
FROM sends s
JOIN messages m ON m.id = s.message_id
JOIN conversations cv ON cv.id = s.conversation_id
JOIN contacts ct ON ct.id = s.contact_id
LEFT JOIN campaigns c ON c.id = s.campaign_id
LEFT JOIN tags tg ON tg.id = s.final_tag_id
WHERE ` + q.where
}

// outboundAuditPage reads up to limit audit rows after the key.
func outboundAuditPage(ctx context.Context, qr sqlx.QueryerContext, q outboundSends, after keyset, limit int) ([]reports.AuditRow, error) {
	args := append(append([]any{}, q.args...), after.at, after.at, after.at, after.id, limit)
	rows, err := qr.QueryContext(ctx, rebind(qr, outboundAuditSQL(q)), args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []reports.AuditRow
	for rows.Next() {
		r, err := scanAuditRow(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

func scanAuditRow(rows *sql.Rows) (reports.AuditRow, error) {
	var (
		r                                  reports.AuditRow
		id, sentAt, channel, contact, conv int64
		campaign, repliedAt, assignee      *int64
		status, finalType                  string
		sale, isNew                        int64
	)
	err := rows.Scan(&id, &sentAt, &campaign, &r.CampaignName, &r.OriginType, &channel, &contact, &r.ContactName, &r.Phone,
		&status, &repliedAt, &assignee, &r.FinalTag, &finalType, &sale, &isNew, &conv)
	if err != nil {
		return r, err
	}
	r.SendID, r.SentAt, r.CampaignID = parley.ID(id), fromMS(sentAt), idPtr(campaign)
	r.ChannelID, r.ContactID, r.ConversationID = parley.ID(channel), parley.ID(contact), parley.ID(conv)
	r.Status, r.RepliedAt, r.AssigneeID = conversations.MessageStatus(status), fromMSPtr(repliedAt), idPtr(assignee)
	r.FinalTagType, r.Sale = conversations.TagType(finalType), sale == 1
	r.ContactKind = reports.ContactRecurring
	if isNew == 1 {
		r.ContactKind = reports.ContactNew
	}
	return r, nil
}
