package store

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// A campaign tick queues its recipients set-wise: a statement per step for
// a chunk of recipients (consent, contacts, conversations, messages,
// outbox, recipients) instead of about fifteen per recipient, which made
// queueing the largest part of a campaign text's cost.

// queueChunk bounds the recipients one statement writes: the widest
// statement (new conversations, 12 arguments a row) stays far below
// SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const queueChunk = 500

// chosenRecipient is a pending recipient the tick queues, and when its
// text becomes due.
type chosenRecipient struct {
	id     int64
	phone  string
	sendAt time.Time
}

// queueRecipients queues up to n pending recipients' texts, each in the
// recipient's conversation; opted-out phones are skipped, and recipients
// in their quiet hours wait for a later tick.
func queueRecipients(ctx context.Context, tx *Tx, c campaigns.Campaign, n int, now time.Time, tick time.Duration, stop time.Time) (int, error) {
	var raw string
	if err := tx.GetContext(ctx, &raw, tx.Rebind(`SELECT settings FROM accounts WHERE id = ?`), c.AccountID); err != nil {
		return 0, err
	}
	settings, err := decodeSettings(raw)
	if err != nil {
		return 0, err
	}
	var pending []struct {
		ID    int64  `db:"id"`
		Phone string `db:"phone"`
	}
	if err := tx.SelectContext(ctx, &pending, tx.Rebind(`SELECT id, phone FROM campaign_recipients
WHERE campaign_id = ? AND status = 'pending' ORDER BY id LIMIT ?`), c.ID, campaigns.PendingToRead(n, settings.QuietHours)); err != nil || len(pending) == 0 {
		return 0, err
	}
	var chosen []chosenRecipient
	for _, r := range pending {
		if len(chosen) == n {
			break
		}
		if !campaigns.InQuietHours(settings.QuietHours, now, r.Phone) {
			chosen = append(chosen, chosenRecipient{r.ID, r.Phone, campaigns.SendAt(now, tick, len(chosen), n)})
		}
	}
	q, err := newCampaignQueue(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	queued := 0
	// The deadline is looked at after each chunk, so that a tick queues
	// at least one however slow the machine is.
	for chunk := range slices.Chunk(chosen, queueChunk) {
		k, err := q.queue(ctx, tx, chunk, now)
		if err != nil {
			return queued, err
		}
		queued += k
		if time.Now().After(stop) {
			break
		}
	}
	return queued, nil
}

// campaignQueue is what every chunk of a tick shares: the campaign, its
// channel and its parsed template.
type campaignQueue struct {
	c   campaigns.Campaign
	ch  conversations.Channel
	tpl campaigns.Template
}

func newCampaignQueue(ctx context.Context, tx *Tx, c campaigns.Campaign) (campaignQueue, error) {
	tpl, err := campaigns.ParseTemplate(c.Body)
	if err != nil {
		return campaignQueue{}, err
	}
	var chRow channelRow
	if err := tx.GetContext(ctx, &chRow, tx.Rebind(`SELECT `+channelColumns+` FROM channels WHERE id = ?`), c.ChannelID); err != nil {
		return campaignQueue{}, err
	}
	return campaignQueue{c: c, ch: chRow.channel(), tpl: tpl}, nil
}

// queue queues one chunk's texts and marks its recipients; it returns how
// many texts it queued.
func (q campaignQueue) queue(ctx context.Context, tx *Tx, chunk []chosenRecipient, now time.Time) (int, error) {
	phones := make([]string, len(chunk))
	for i, r := range chunk {
		phones[i] = r.phone
	}
	optedOut, err := optedOutAmong(ctx, tx, q.c.AccountID, phones)
	if err != nil {
		return 0, err
	}
	var skipped []any
	var sending []chosenRecipient
	for _, r := range chunk {
		if optedOut[r.phone] {
			skipped = append(skipped, r.id)
		} else {
			sending = append(sending, r)
		}
	}
	if len(skipped) > 0 {
		if err := execIn(ctx, tx, `UPDATE campaign_recipients SET status = ?, updated_at = ? WHERE id IN (?)`,
			string(campaigns.RecipientSkippedOptedOut), ms(now), skipped); err != nil {
			return 0, err
		}
	}
	if len(sending) == 0 {
		return 0, nil
	}
	phones = phones[:0]
	for _, r := range sending {
		phones = append(phones, r.phone)
	}
	contacts, err := contactsOfPhones(ctx, tx, q.c.AccountID, phones, now)
	if err != nil {
		return 0, err
	}
	bodies := q.render(sending, contacts)
	convs, created, err := q.conversations(ctx, tx, contacts, bodies, phones, now)
	if err != nil {
		return 0, err
	}
	texts, err := q.texts(ctx, tx, sending, bodies, convs, created, now)
	if err != nil {
		return 0, err
	}
	return len(texts), markRecipientsQueued(ctx, tx, sending, texts, now)
}

// renderedText is a recipient's text as the template wrote it.
type renderedText struct {
	body string
	seg  conversations.Segmentation
}

// render writes each recipient's text from the template and the
// recipient's contact, by phone.
func (q campaignQueue) render(rs []chosenRecipient, contacts map[string]recipientContact) map[string]renderedText {
	out := make(map[string]renderedText, len(rs))
	for _, r := range rs {
		body, seg := q.tpl.Text(contacts[r.phone].recipient(r.phone))
		out[r.phone] = renderedText{body, seg}
	}
	return out
}

// A chunk's phones are looked up one by one by their index (lookupJoin):
// as "phone IN (the chunk)" PostgreSQL planned, from the statistics of an
// audience's first minutes, a scan of every phone of the account with the
// chunk as a filter, 500 comparisons a row, kept as the account grew.

// optedOutAmongQuery finds which of a batch of phones have opted out of
// an account (its parameter after the batch).
func optedOutAmongQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "phone TEXT") + ` SELECT cs.phone FROM v` +
		d.lookupJoin("consents", "cs", "cs.account_id = ? AND cs.phone = v.phone") + ` WHERE cs.opted_out`
}

// optedOutAmong says which of the account's phones are opted out.
func optedOutAmong(ctx context.Context, tx *Tx, accountID parley.ID, phones []string) (map[string]bool, error) {
	var found []string
	if err := selectBatch(ctx, tx, &found, optedOutAmongQuery(dialectOf(tx)), columnRows(phones), accountID); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, p := range found {
		out[p] = true
	}
	return out, nil
}

// recipientContact is a phone's contact, as a template reads it.
type recipientContact struct {
	ID         int64  `db:"id"`
	Phone      string `db:"phone"`
	Name       string `db:"name"`
	Attributes string `db:"attributes"`
}

// recipient is what a template fills in for a text to phone from this
// contact (the zero contact: the phone alone, and the fallbacks).
func (c recipientContact) recipient(phone string) campaigns.Recipient {
	var attrs map[string]any
	_ = json.Unmarshal([]byte(c.Attributes), &attrs)
	return campaigns.Recipient{Name: c.Name, Phone: phone, Attributes: attrs}
}

// contactsOfPhones returns each phone's contact, creating an unnamed one
// for the phones that have none. New contacts are alike until their phone
// is theirs, so any of them may take any phone: a phone that another
// transaction gave a contact first keeps that one, and the spare is
// deleted.
func contactsOfPhones(ctx context.Context, tx *Tx, accountID parley.ID, phones []string, at time.Time) (map[string]recipientContact, error) {
	// Phone order: unique-index locks taken in one order by every batch.
	phones = slices.Sorted(slices.Values(phones))
	var rows []phoneContact
	var err error
	if dialectOf(tx).writesInWith() {
		err = selectBatch(ctx, tx, &rows, findOrCreateContactsQuery(dialectOf(tx)), columnRows(phones), accountID, accountID, ms(at), ms(at), accountID)
	} else {
		rows, err = findThenCreateContacts(ctx, tx, accountID, phones, at)
	}
	if err != nil {
		return nil, err
	}
	found := make(map[string]recipientContact, len(rows))
	var spare []any
	var lost []string
	for _, r := range rows {
		if r.Taken {
			found[r.Phone] = r.recipientContact
		} else {
			spare, lost = append(spare, r.ID), append(lost, r.Phone)
		}
	}
	if len(lost) == 0 {
		return found, nil
	}
	// Lost races: drop the spare contacts and read the winners'.
	if err := execIn(ctx, tx, `DELETE FROM contacts WHERE id IN (?)`, spare); err != nil {
		return nil, err
	}
	won, err := selectContacts(ctx, tx, accountID, lost)
	for p, c := range won {
		found[p] = c
	}
	return found, err
}

// phoneContact is a phone's contact, found or created; Taken is false
// for one created in vain, another transaction having given the phone a
// contact first.
type phoneContact struct {
	recipientContact
	Taken bool `db:"taken"`
}

// findOrCreateContactsQuery is contactsOfPhones' one statement on
// PostgreSQL: a batch of phones in order, then the account (twice), the
// times and the account again. The missing phones' contact ids are drawn
// first (a CTE read twice is computed once) so that each phone knows its
// contact; phones are inserted in order.
func findOrCreateContactsQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "phone TEXT") + `,
f AS (SELECT c.id, p.phone, c.name, c.attributes FROM v` +
		d.lookupJoin("contact_phones", "p", "p.account_id = ? AND p.phone = v.phone") +
		d.lookupJoin("contacts", "c", "c.id = p.contact_id") + `),
n AS (SELECT nextval(pg_get_serial_sequence('contacts', 'id')) AS id, phone
    FROM (SELECT phone FROM v WHERE phone NOT IN (SELECT phone FROM f) ORDER BY phone) m),
c AS (INSERT INTO contacts (id, account_id, name, type, attributes, created_at, updated_at)
    SELECT id, ?, '', '', '{}', ?, ? FROM n),
p AS (INSERT INTO contact_phones (account_id, phone, contact_id, position) SELECT ?, phone, id, 0 FROM n ORDER BY phone
    ON CONFLICT (account_id, phone) DO NOTHING RETURNING phone)
SELECT id, phone, name, attributes, TRUE AS taken FROM f
UNION ALL
SELECT n.id, n.phone, '', '{}', p.phone IS NOT NULL FROM n LEFT JOIN p ON p.phone = n.phone`
}

// findThenCreateContacts is contactsOfPhones' look-up and inserts on
// SQLite, whose WITH queries do not write: the phones' contacts, then a
// contact for each phone without one, then their phones, pairing the ids
// as they come back.
func findThenCreateContacts(ctx context.Context, tx *Tx, accountID parley.ID, phones []string, at time.Time) ([]phoneContact, error) {
	found, err := selectContacts(ctx, tx, accountID, phones)
	if err != nil {
		return nil, err
	}
	rows := make([]phoneContact, 0, len(phones))
	var missing []string
	for _, p := range phones {
		if c, ok := found[p]; ok {
			rows = append(rows, phoneContact{c, true})
		} else {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return rows, nil
	}
	args := make([]any, 0, 3*len(missing))
	for range missing {
		args = append(args, accountID, ms(at), ms(at))
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(valuesRows(`INSERT INTO contacts (account_id, name, type, attributes, created_at, updated_at) VALUES `,
		`(?, '', '', '{}', ?, ?)`, len(missing))+` RETURNING id`), args...); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	args = args[:0]
	for i, p := range missing {
		args = append(args, accountID, p, ids[i])
	}
	var won []string
	if err := tx.SelectContext(ctx, &won, tx.Rebind(valuesRows(`INSERT INTO contact_phones (account_id, phone, contact_id, position) VALUES `,
		`(?, ?, ?, 0)`, len(missing))+` ON CONFLICT (account_id, phone) DO NOTHING RETURNING phone`), args...); err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(won))
	for _, p := range won {
		taken[p] = true
	}
	for i, p := range missing {
		rows = append(rows, phoneContact{recipientContact{ID: ids[i], Phone: p, Attributes: "{}"}, taken[p]})
	}
	return rows, nil
}

// contactsOfPhonesQuery finds the contacts of a batch of phones in an
// account (its parameter after the batch).
func contactsOfPhonesQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "phone TEXT") + ` SELECT c.id, p.phone, c.name, c.attributes FROM v` +
		d.lookupJoin("contact_phones", "p", "p.account_id = ? AND p.phone = v.phone") +
		d.lookupJoin("contacts", "c", "c.id = p.contact_id")
}

// selectContacts returns the contacts the account's phones have.
func selectContacts(ctx context.Context, tx *Tx, accountID parley.ID, phones []string) (map[string]recipientContact, error) {
	var rows []recipientContact
	if err := selectBatch(ctx, tx, &rows, contactsOfPhonesQuery(dialectOf(tx)), columnRows(phones), accountID); err != nil {
		return nil, err
	}
	out := make(map[string]recipientContact, len(rows))
	for _, r := range rows {
		out[r.Phone] = r
	}
	return out, nil
}

// conversations returns each phone's thread on the campaign's channel,
// and which of them it created: those missing, pending (waiting for the
// customer) and unassigned, so that a reply opens one and auto-assignment
// takes it from there. A created thread starts with its text's words and
// time, and is not written again for the text.
func (q campaignQueue) conversations(ctx context.Context, tx *Tx, contacts map[string]recipientContact, bodies map[string]renderedText,
	phones []string, now time.Time) (convs map[string]parley.ID, created map[parley.ID]bool, err error) {
	found, err := conversationsOfPhones(ctx, tx, q.ch.ID, phones)
	if err != nil {
		return nil, nil, err
	}
	convs = make(map[string]parley.ID, len(phones))
	var strays []strayThread
	for p, t := range found {
		convs[p] = t.ID
		if owner := parley.ID(contacts[p].ID); t.ContactID != owner {
			strays = append(strays, strayThread{q.c.AccountID, p, owner})
		}
	}
	if err := giveThreadsToOwners(ctx, tx, strays, now); err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, p := range phones {
		if _, ok := convs[p]; !ok {
			missing = append(missing, p)
		}
	}
	created = make(map[parley.ID]bool, len(missing))
	if len(missing) == 0 {
		return convs, created, nil
	}
	// Phone order: unique-index locks taken in one order by every batch.
	slices.Sort(missing)
	ts := make([]newThread, len(missing))
	for i, p := range missing {
		ts[i] = newThread{ch: q.ch, contactID: parley.ID(contacts[p].ID), phone: p, businessPhone: q.ch.PhoneNumber,
			status: conversations.StatusPending, body: bodies[p].body, at: now}
	}
	inserted, episodes, err := insertThreads(ctx, tx, ts, true)
	if err != nil {
		return nil, nil, err
	}
	evs := make([]event, len(inserted))
	for i, c := range inserted {
		convs[c.Phone] = parley.ID(c.ID)
		created[parley.ID(c.ID)] = true
		evs[i] = event{parley.ID(c.ID), conversations.EventCreated, conversations.ActorSystem, nil,
			map[string]any{"status": conversations.StatusPending, "reason": "campaign", "campaign_id": q.c.ID}, now}
	}
	evStmt, err := eventsStatement(tx, q.c.AccountID, evs)
	if err != nil {
		return nil, nil, err
	}
	if err := execTogether(ctx, tx, episodes, evStmt); err != nil {
		return nil, nil, err
	}
	if len(inserted) < len(missing) {
		// Created meanwhile by an inbound text or another send.
		var lost []string
		for _, p := range missing {
			if _, ok := convs[p]; !ok {
				lost = append(lost, p)
			}
		}
		won, err := conversationsOfPhones(ctx, tx, q.ch.ID, lost)
		if err != nil {
			return nil, nil, err
		}
		for p, t := range won {
			convs[p] = t.ID
		}
	}
	return convs, created, nil
}

// conversationsOfPhonesQuery finds the threads of a batch of phones on a
// channel (its parameter after the batch).
func conversationsOfPhonesQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "phone TEXT") + ` SELECT cv.id, cv.contact_phone, cv.contact_id FROM v` +
		d.lookupJoin("conversations", "cv", "cv.channel_id = ? AND cv.contact_phone = v.phone")
}

// phoneThread is a phone's thread on a channel and the contact it shows.
type phoneThread struct {
	ID        parley.ID `db:"id"`
	Phone     string    `db:"contact_phone"`
	ContactID parley.ID `db:"contact_id"`
}

func conversationsOfPhones(ctx context.Context, tx *Tx, channelID parley.ID, phones []string) (map[string]phoneThread, error) {
	var rows []phoneThread
	if err := selectBatch(ctx, tx, &rows, conversationsOfPhonesQuery(dialectOf(tx)), columnRows(phones), channelID); err != nil {
		return nil, err
	}
	out := make(map[string]phoneThread, len(rows))
	for _, r := range rows {
		out[r.Phone] = r
	}
	return out, nil
}

// texts stores each recipient's text, queued in the outbox at its time,
// and moves the last activity of the conversations it did not create
// (those created start with theirs); it returns the messages by phone.
func (q campaignQueue) texts(ctx context.Context, tx *Tx, rs []chosenRecipient, bodies map[string]renderedText,
	convs map[string]parley.ID, created map[parley.ID]bool, now time.Time) (map[string]conversations.Message, error) {
	d := dialectOf(tx)
	texts := make([][]any, len(rs))
	for i, r := range rs {
		t := bodies[r.phone]
		texts[i] = []any{convs[r.phone], t.body, t.seg.Segments, t.seg.Encoding}
	}
	insert := `WITH ` + d.batchRows("v", "conversation_id BIGINT", "body TEXT", "segments INTEGER", "encoding TEXT") + `
INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls, status,
    campaign_id, segments, encoding, created_at, updated_at)
SELECT ?, conversation_id, ?, 'outbound', 'text', body, '[]', 'queued', ?, segments, encoding, ?, ? FROM v
RETURNING ` + messageColumns
	var rows []messageRow
	if err := selectBatch(ctx, tx, &rows, insert, texts, q.c.AccountID, q.ch.ID, q.c.ID, ms(now), ms(now)); err != nil {
		return nil, err
	}
	// A chunk has one text a conversation.
	byConv, err := messagesByConversation(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]conversations.Message, len(rs))
	queued := make([][]any, 0, len(rs))
	touched := make([][]any, 0, len(rs))
	for _, r := range rs {
		m := byConv[convs[r.phone]]
		out[r.phone] = m
		queued = append(queued, []any{m.ID, r.phone, ms(r.sendAt)})
		if !created[m.ConversationID] {
			touched = append(touched, []any{m.ConversationID, m.Body})
		}
		tx.recordMessage(events.MessageCreated, m, conversations.ActorSystem, nil, now)
	}
	outbox := batchStatement(`WITH `+d.batchRows("v", "message_id BIGINT", "to_phone TEXT", "available_at BIGINT")+`
INSERT INTO outbox (account_id, message_id, channel_id, campaign_id, to_phone, purpose, priority, state, available_at, created_at, updated_at)
SELECT ?, message_id, ?, ?, to_phone, ?, ?, 'queued', available_at, ?, ? FROM v`,
		queued, q.c.AccountID, q.ch.ID, q.c.ID, q.c.OriginType, priorityOf(q.c.OriginType), ms(now), ms(now))
	// The text's words join an existing conversation's search document
	// here, in the one UPDATE of the conversation (migration 00034).
	touch := statement{}
	if len(touched) > 0 {
		touch = batchStatement(touchConversationsQuery(d), touched, ms(now), ms(now), ms(now))
	}
	return out, execTogether(ctx, tx, outbox, touch)
}

// touchConversationsQuery adds a batch of texts' words to their
// conversations' search documents and moves their last message's time;
// its parameters after the batch are that time, twice, and now.
func touchConversationsQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT", "body TEXT") + `
UPDATE conversations SET ` + d.searchWordsSet() + `last_message_at = CASE WHEN last_message_at > ? THEN last_message_at ELSE ? END, updated_at = ?
FROM v WHERE conversations.id = v.id`
}

// markRecipientsQueuedQuery gives a batch of recipients their texts and
// conversations; its parameters after the batch are the status and now.
// A batch of one shape: as a VALUES list of 500 rows, PostgreSQL hashed
// it against a scan of every recipient while the table was not yet large.
func markRecipientsQueuedQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT", "message_id BIGINT", "conversation_id BIGINT") + `
UPDATE campaign_recipients SET status = ?, message_id = v.message_id, conversation_id = v.conversation_id, updated_at = ?
FROM v WHERE campaign_recipients.id = v.id`
}

// markRecipientsQueued records each recipient's text and conversation.
func markRecipientsQueued(ctx context.Context, tx *Tx, rs []chosenRecipient, texts map[string]conversations.Message, now time.Time) error {
	rows := make([][]any, len(rs))
	for i, r := range rs {
		m := texts[r.phone]
		rows[i] = []any{r.id, m.ID, m.ConversationID}
	}
	return execBatch(ctx, tx, markRecipientsQueuedQuery(dialectOf(tx)), rows, string(campaigns.RecipientQueued), ms(now))
}
