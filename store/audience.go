package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// A campaign's audience becomes campaign_recipients rows in stages — its
// contact ids, then its phones, then the contacts its filter matches —
// resuming at the campaign's expand_stage and expand_cursor. Only one chunk
// is in memory at a time, so a million recipients cost what a few thousand
// do.
const (
	stageContactIDs = 0
	stagePhones     = 1
	stageFilter     = 2
	stageExpanded   = 3
)

const (
	// expandChunk is how many audience members one transaction expands:
	// small enough that SQLite's single writer is not held for long.
	expandChunk = 5000
	// expandBudget bounds the expansion work of one campaign per tick
	// (beyond its first chunk), leaving the tick to the sending.
	expandBudget = 400 * time.Millisecond
	// startChunks is how many chunks a campaign's start expands before
	// it answers (20,000 members): its counts are whole for most.
	startChunks = 4
	// insertRows is how many recipients one INSERT writes: each row binds
	// 6 parameters, far below both databases' limits.
	insertRows = 500
)

// expandCampaign expands the next chunks of a campaign's audience, one
// transaction per chunk, until it is done or the tick's budget is spent.
func (db *DB) expandCampaign(ctx context.Context, id parley.ID, now time.Time, tick time.Duration) error {
	start := time.Now() // a work budget on the wall clock, not domain time
	for {
		done, err := db.expandChunk(ctx, id, now, tick)
		if err != nil || done || time.Since(start) >= expandBudget {
			return err
		}
	}
}

// expandChunk expands one chunk under the campaign's lock and stores where
// the next one starts. done is true when nothing is left (or the campaign
// is not due, or another instance holds it).
func (db *DB) expandChunk(ctx context.Context, id parley.ID, now time.Time, tick time.Duration) (done bool, err error) {
	err = db.inTx(ctx, func(tx *Tx) error {
		row, c, ok, err := db.lockDueCampaign(ctx, tx, id, now, tick)
		if err != nil || !ok || row.ExpandStage >= stageExpanded {
			done = true
			return err
		}
		if err := expandNextChunk(ctx, tx, &row, c, now); err != nil {
			return err
		}
		done = row.ExpandStage >= stageExpanded
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE campaigns SET expand_stage = ?, expand_cursor = ? WHERE id = ?`),
			row.ExpandStage, row.ExpandCursor, id)
		return err
	})
	return done, err
}

// audienceMember is one recipient-to-be; contactID is nil for a phone
// given without a contact.
type audienceMember struct {
	contactID *parley.ID
	phone     string
}

// expandNextChunk writes up to expandChunk members as recipients from
// where the row's stage and cursor point, moving them on. Members are
// written in the audience's order: of two with one phone, the first
// stays.
func expandNextChunk(ctx context.Context, tx *Tx, row *campaignRow, c campaigns.Campaign, now time.Time) error {
	var members []audienceMember
	for budget := expandChunk; budget > 0 && row.ExpandStage < stageExpanded; {
		var read int
		var err error
		switch {
		case row.ExpandStage == stageContactIDs:
			read, err = expandContactIDs(ctx, tx, row, c, budget, &members)
		case row.ExpandStage == stagePhones:
			read = expandPhones(row, c, budget, &members)
		case c.Audience.Filter != nil && len(c.Audience.Filter.Attributes) == 0:
			if err = insertRecipients(ctx, tx, c, members, now); err == nil {
				members = nil
				read, err = insertFilterRecipients(ctx, tx, row, c, budget, now)
			}
		default:
			read, err = expandFilter(ctx, tx, row, c, budget, &members)
		}
		if err != nil {
			return err
		}
		budget -= max(read, 1)
	}
	return insertRecipients(ctx, tx, c, members, now)
}

// advanceList moves the row past a list read up to end, on to the next
// stage when all n members are read.
func (r *campaignRow) advanceList(end, n int) {
	r.ExpandCursor = int64(end)
	if end >= n {
		r.ExpandStage, r.ExpandCursor = r.ExpandStage+1, 0
	}
}

// expandContactIDs reads the next listed contacts with their first phone;
// contacts without a phone, or not of the account, are left out.
func expandContactIDs(ctx context.Context, tx *Tx, row *campaignRow, c campaigns.Campaign, budget int, out *[]audienceMember) (int, error) {
	ids := c.Audience.ContactIDs
	start := int(row.ExpandCursor)
	end := min(len(ids), start+budget)
	for lo := start; lo < end; lo += insertRows {
		chunk := ids[lo:min(end, lo+insertRows)]
		first, err := firstPhones(ctx, tx, c.AccountID, chunk)
		if err != nil {
			return 0, err
		}
		for _, id := range chunk {
			if phone, ok := first[id]; ok {
				*out = append(*out, audienceMember{contactID: &id, phone: phone})
			}
		}
	}
	row.advanceList(end, len(ids))
	return end - start, nil
}

// checkAudienceContacts refuses an audience naming a contact the account
// does not have (another account's included, without saying so), as a
// quick message does: a 422 naming the first such id.
func checkAudienceContacts(ctx context.Context, tx *Tx, accountID parley.ID, ids []parley.ID) error {
	for lo := 0; lo < len(ids); lo += insertRows {
		chunk := ids[lo:min(len(ids), lo+insertRows)]
		q, args, err := sqlx.In(`SELECT id FROM contacts WHERE account_id = ? AND id IN (?)`, accountID, chunk)
		if err != nil {
			return err
		}
		var found []int64
		if err := tx.SelectContext(ctx, &found, tx.Rebind(q), args...); err != nil {
			return err
		}
		known := make(map[parley.ID]bool, len(found))
		for _, id := range found {
			known[parley.ID(id)] = true
		}
		for _, id := range chunk {
			if !known[id] {
				return parley.Invalid(map[string]string{"audience.contact_ids": fmt.Sprintf("no contact %s", id)})
			}
		}
	}
	return nil
}

// firstPhones maps each of the account's contacts among ids to its first
// phone that can be texted (conversations.Textable).
func firstPhones(ctx context.Context, tx *Tx, accountID parley.ID, ids []parley.ID) (map[parley.ID]string, error) {
	q, args, err := sqlx.In(`SELECT contact_id, phone FROM contact_phones WHERE account_id = ? AND contact_id IN (?)
ORDER BY contact_id, position`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ContactID int64  `db:"contact_id"`
		Phone     string `db:"phone"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, err
	}
	first := make(map[parley.ID]string, len(rows))
	for _, r := range rows {
		if _, seen := first[parley.ID(r.ContactID)]; !seen && conversations.Textable(r.Phone) {
			first[parley.ID(r.ContactID)] = r.Phone
		}
	}
	return first, nil
}

// expandPhones reads the next listed phones.
func expandPhones(row *campaignRow, c campaigns.Campaign, budget int, out *[]audienceMember) int {
	phones := c.Audience.Phones
	start := int(row.ExpandCursor)
	end := min(len(phones), start+budget)
	for _, p := range phones[start:end] {
		*out = append(*out, audienceMember{phone: p})
	}
	row.advanceList(end, len(phones))
	return end - start
}

// expandFilter reads the filter's next contacts in id order, the cursor
// being the last id read.
func expandFilter(ctx context.Context, tx *Tx, row *campaignRow, c campaigns.Campaign, budget int, out *[]audienceMember) (int, error) {
	f := c.Audience.Filter
	if f == nil {
		row.ExpandStage, row.ExpandCursor = stageExpanded, 0
		return 0, nil
	}
	where, args := filterContacts(row, c)
	var rows []struct {
		ID         int64   `db:"id"`
		Attributes string  `db:"attributes"`
		Phone      *string `db:"phone"`
	}
	q := `SELECT c.id, c.attributes, ` + firstPhone + ` AS phone FROM contacts c WHERE ` + where + ` ORDER BY c.id LIMIT ?`
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), append(args, budget)...); err != nil {
		return 0, err
	}
	var last int64
	for _, r := range rows {
		last = r.ID
		if r.Phone == nil || !attributesMatch(r.Attributes, f.Attributes) {
			continue
		}
		id := parley.ID(r.ID)
		*out = append(*out, audienceMember{contactID: &id, phone: *r.Phone})
	}
	row.advanceFilter(last, len(rows), budget)
	return len(rows), nil
}

// insertFilterRecipients writes the next contacts of a filter without
// attributes to match as recipients within the database, in id order,
// the cursor being the last id read: no contact's row travels to Parley
// and back.
func insertFilterRecipients(ctx context.Context, tx *Tx, row *campaignRow, c campaigns.Campaign, budget int, now time.Time) (int, error) {
	where, args := filterContacts(row, c)
	var read struct {
		N    int   `db:"n"`
		Last int64 `db:"last"`
	}
	span := `SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM (SELECT c.id FROM contacts c WHERE ` + where + ` ORDER BY c.id LIMIT ?) s`
	if err := tx.GetContext(ctx, &read, tx.Rebind(span), append(args, budget)...); err != nil {
		return 0, err
	}
	if read.N > 0 {
		insert := `INSERT INTO campaign_recipients (account_id, campaign_id, contact_id, phone, status, created_at, updated_at)
SELECT ?, ?, id, phone, 'pending', ?, ? FROM (
    SELECT c.id, ` + firstPhone + ` AS phone FROM contacts c WHERE ` + where + ` AND c.id <= ? ORDER BY c.id) s
WHERE phone IS NOT NULL ORDER BY id
ON CONFLICT (campaign_id, phone) DO NOTHING`
		all := append([]any{c.AccountID, c.ID, ms(now), ms(now)}, args...)
		if _, err := tx.ExecContext(ctx, tx.Rebind(insert), append(all, read.Last)...); err != nil {
			return 0, err
		}
	}
	row.advanceFilter(read.Last, read.N, budget)
	return read.N, nil
}

// filterContacts is the condition on contacts c that the campaign's
// filter keeps after the row's cursor (attributes aside), and its
// arguments.
func filterContacts(row *campaignRow, c campaigns.Campaign) (string, []any) {
	where, args := `c.account_id = ? AND c.id > ?`, []any{c.AccountID, row.ExpandCursor}
	if t := c.Audience.Filter.ContactType; t != "" {
		where, args = where+` AND c.type = ?`, append(args, t)
	}
	return where, args
}

// firstPhone is contact c's first phone that can be texted, NULL when it
// has none: a phone number, not a short code or sender ID it texted from
// (conversations.Textable: E.164 starts with "+").
const firstPhone = `(SELECT p.phone FROM contact_phones p WHERE p.contact_id = c.id AND p.phone LIKE '+%' ORDER BY p.position LIMIT 1)`

// advanceFilter moves the row past the filter's read contacts, the last
// of them last; fewer than budget means none is left.
func (r *campaignRow) advanceFilter(last int64, read, budget int) {
	if read > 0 {
		r.ExpandCursor = last
	}
	if read < budget {
		r.ExpandStage, r.ExpandCursor = stageExpanded, 0
	}
}

// attributesMatch says whether a contact's attributes (JSON) hold every
// wanted value.
func attributesMatch(raw string, want map[string]any) bool {
	if len(want) == 0 {
		return true
	}
	var got map[string]any
	if json.Unmarshal([]byte(raw), &got) != nil {
		return false
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			return false
		}
	}
	return true
}

// insertRecipients writes members as pending recipients, insertRows per
// statement; a phone already in the campaign is left as it is.
func insertRecipients(ctx context.Context, tx *Tx, c campaigns.Campaign, members []audienceMember, now time.Time) error {
	for lo := 0; lo < len(members); lo += insertRows {
		chunk := members[lo:min(len(members), lo+insertRows)]
		args := make([]any, 0, 6*len(chunk))
		for _, m := range chunk {
			args = append(args, c.AccountID, c.ID, m.contactID, m.phone, ms(now), ms(now))
		}
		q := valuesRows(`INSERT INTO campaign_recipients (account_id, campaign_id, contact_id, phone, status, created_at, updated_at) VALUES `,
			`(?, ?, ?, ?, 'pending', ?, ?)`, len(chunk)) + ` ON CONFLICT (campaign_id, phone) DO NOTHING`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}
