package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

var _ conversations.TagStore = (*DB)(nil)

// Tags.

type tagRow struct {
	ID        int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	Name      string `db:"name"`
	Type      string `db:"type"`
	Archived  bool   `db:"archived"`
	Used      bool   `db:"used"`
	CreatedAt int64  `db:"created_at"`
	UpdatedAt int64  `db:"updated_at"`
}

const tagColumns = `id, account_id, name, type, archived, used, created_at, updated_at`

func (r tagRow) tag() conversations.Tag {
	return conversations.Tag{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Name: r.Name, Type: conversations.TagType(r.Type),
		Archived: r.Archived, Used: r.Used, CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
}

func (r tagRow) ref() conversations.TagRef {
	return conversations.TagRef{ID: parley.ID(r.ID), Name: r.Name, Type: conversations.TagType(r.Type)}
}

// tagNameKey folds a name for the account's uniqueness of names: "Sale"
// and "sale" are one tag to staff picking from a list.
func tagNameKey(name string) string { return strings.ToLower(name) }

func nameTaken(name string) error {
	return parley.Conflict("tag_name_taken", "this account already has a tag named %q", name)
}

// CreateTag adds a tag to the account.
func (db *DB) CreateTag(ctx context.Context, n conversations.NewTag) (conversations.Tag, error) {
	if err := n.Validate(); err != nil {
		return conversations.Tag{}, err
	}
	var rows []tagRow
	q := `INSERT INTO tags (account_id, name, name_key, type, archived, used, created_at, updated_at)
VALUES (?, ?, ?, ?, FALSE, FALSE, ?, ?) ON CONFLICT (account_id, name_key) DO NOTHING RETURNING ` + tagColumns
	err := db.db.SelectContext(ctx, &rows, db.rebind(q), n.AccountID, n.Name, tagNameKey(n.Name), string(n.Type), ms(n.At), ms(n.At))
	if err != nil {
		return conversations.Tag{}, translate(err)
	}
	if len(rows) == 0 {
		return conversations.Tag{}, nameTaken(n.Name)
	}
	return rows[0].tag(), nil
}

// ListTags lists the account's tags by name.
func (db *DB) ListTags(ctx context.Context, accountID parley.ID, includeArchived bool) ([]conversations.Tag, error) {
	q := `SELECT ` + tagColumns + ` FROM tags WHERE account_id = ?`
	if !includeArchived {
		q += ` AND archived = FALSE`
	}
	var rows []tagRow
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q+` ORDER BY name_key, id`), accountID); err != nil {
		return nil, translate(err)
	}
	out := make([]conversations.Tag, len(rows))
	for i, r := range rows {
		out[i] = r.tag()
	}
	return out, nil
}

// GetTag reads a tag of the account.
func (db *DB) GetTag(ctx context.Context, accountID, id parley.ID) (conversations.Tag, error) {
	var row tagRow
	err := db.db.GetContext(ctx, &row, db.rebind(`SELECT `+tagColumns+` FROM tags WHERE account_id = ? AND id = ?`), accountID, id)
	return row.tag(), translate(err)
}

// lockTag reads a tag of the account and, on PostgreSQL, locks it, so
// that its type and archived flag do not change under a tagging.
func (db *DB) lockTag(ctx context.Context, tx *Tx, accountID, id parley.ID) (tagRow, error) {
	var row tagRow
	q := `SELECT ` + tagColumns + ` FROM tags WHERE account_id = ? AND id = ?` + db.dialect.forUpdate()
	err := tx.GetContext(ctx, &row, tx.Rebind(q), accountID, id)
	return row, translate(err)
}

// UpdateTag renames, retypes or archives a tag. The type is fixed once
// the tag was applied: reports already counted it as that type.
func (db *DB) UpdateTag(ctx context.Context, accountID, id parley.ID, p conversations.TagPatch) (conversations.Tag, error) {
	if err := p.Validate(); err != nil {
		return conversations.Tag{}, err
	}
	var out conversations.Tag
	err := db.inTx(ctx, func(tx *Tx) error {
		row, err := db.lockTag(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		cur := row.tag()
		if p.Type != nil && *p.Type != cur.Type && cur.Used {
			return parley.Conflict("tag_type_fixed", "the tag %q has been applied: its type can no longer change", cur.Name)
		}
		if p.Name != nil && tagNameKey(*p.Name) != tagNameKey(cur.Name) {
			var other int64
			err := tx.GetContext(ctx, &other, tx.Rebind(`SELECT id FROM tags WHERE account_id = ? AND name_key = ? AND id <> ?`),
				accountID, tagNameKey(*p.Name), id)
			if err == nil {
				return nameTaken(*p.Name)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if p.Name != nil {
			cur.Name = *p.Name
		}
		if p.Type != nil {
			cur.Type = *p.Type
		}
		if p.Archived != nil {
			cur.Archived = *p.Archived
		}
		const q = `UPDATE tags SET name = ?, name_key = ?, type = ?, archived = ?, updated_at = ? WHERE id = ? RETURNING ` + tagColumns
		err = tx.GetContext(ctx, &row, tx.Rebind(q), cur.Name, tagNameKey(cur.Name), string(cur.Type), cur.Archived, ms(p.At), id)
		if err := translate(err); parley.IsKind(err, parley.ECONFLICT) {
			return nameTaken(cur.Name) // renamed to a name another rename took meanwhile
		} else if err != nil {
			return err
		}
		out = row.tag()
		return nil
	})
	return out, err
}

// Conversation tags.

// tagField reads and locks the tag a request names: ENOTFOUND naming
// tag_id when it is not the account's.
func (db *DB) tagField(ctx context.Context, tx *Tx, accountID, id parley.ID) (tagRow, error) {
	row, err := db.lockTag(ctx, tx, accountID, id)
	if parley.IsKind(err, parley.ENOTFOUND) {
		return row, notFoundField("tag_id", "no such tag")
	}
	return row, err
}

// tagData names a tag in an activity-log entry. Its keys are prefixed:
// the event log's change keeps the entry's own type under "type".
func tagData(t tagRow) map[string]any {
	return map[string]any{"tag_id": parley.ID(t.ID), "tag_name": t.Name, "tag_type": t.Type}
}

// TagConversation applies a tag to a conversation.
func (db *DB) TagConversation(ctx context.Context, c conversations.TagChange) (conversations.Conversation, error) {
	return db.changeTags(ctx, c, func(tx *Tx, conv conversations.Conversation) error {
		_, err := db.applyTag(ctx, tx, conv, c.TagID, c.Actor, c.At)
		return err
	})
}

// UntagConversation removes a tag from a conversation. An archived tag
// may still be removed.
func (db *DB) UntagConversation(ctx context.Context, c conversations.TagChange) (conversations.Conversation, error) {
	return db.changeTags(ctx, c, func(tx *Tx, conv conversations.Conversation) error {
		tag, err := db.tagField(ctx, tx, c.AccountID, c.TagID)
		if err != nil {
			return err
		}
		const del = `DELETE FROM conversation_tags WHERE conversation_id = ? AND tag_id = ?`
		res, err := tx.ExecContext(ctx, tx.Rebind(del), conv.ID, tag.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return tagsChanged(ctx, tx, conv, conversations.EventTagRemoved, tag, c.Actor, c.At)
	})
}

// changeTags runs a tagging on the locked conversation, for staff who
// may act on it, and returns the conversation after.
func (db *DB) changeTags(ctx context.Context, c conversations.TagChange, change func(*Tx, conversations.Conversation) error) (conversations.Conversation, error) {
	var out conversations.Conversation
	err := db.inTx(ctx, func(tx *Tx) error {
		conv, err := db.lockToAct(ctx, tx, c.AccountID, c.ConversationID, c.Actor)
		if err != nil {
			return err
		}
		if err := change(tx, conv); err != nil {
			return err
		}
		out, err = getConversation(ctx, tx, c.AccountID, conv.ID)
		return err
	})
	return out, err
}

// applyTag puts a tag on the locked conversation unless it is on
// already, marks the tag used and logs the change. Archived tags are no
// longer applied.
func (db *DB) applyTag(ctx context.Context, tx *Tx, conv conversations.Conversation, tagID parley.ID, actor conversations.User, at time.Time) (tagRow, error) {
	tag, err := db.tagField(ctx, tx, conv.AccountID, tagID)
	if err != nil {
		return tag, err
	}
	if tag.Archived {
		return tag, parley.Invalid(map[string]string{"tag_id": "this tag is archived"})
	}
	const ins = `INSERT INTO conversation_tags (account_id, conversation_id, tag_id, applied_by, applied_at)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, tag_id) DO NOTHING`
	res, err := tx.ExecContext(ctx, tx.Rebind(ins), conv.AccountID, conv.ID, tag.ID, actor.ID, ms(at))
	if err != nil {
		return tag, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return tag, err
	}
	if !tag.Used {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE tags SET used = TRUE WHERE id = ?`), tag.ID); err != nil {
			return tag, err
		}
	}
	return tag, tagsChanged(ctx, tx, conv, conversations.EventTagAdded, tag, actor, at)
}

// tagsChanged logs a tagging and marks the conversation updated.
func tagsChanged(ctx context.Context, tx *Tx, conv conversations.Conversation, typ conversations.EventType, tag tagRow, actor conversations.User, at time.Time) error {
	const q = `UPDATE conversations SET updated_at = ? WHERE id = ?`
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), ms(at), conv.ID); err != nil {
		return err
	}
	return userEvent(ctx, tx, conv, typ, actor, tagData(tag), at)
}

type appliedRow struct {
	tagRow
	ConversationID int64  `db:"conversation_id"`
	AppliedBy      *int64 `db:"applied_by"`
	AppliedAt      int64  `db:"applied_at"`
}

func (r appliedRow) applied() conversations.AppliedTag {
	return conversations.AppliedTag{Tag: r.ref(), AppliedBy: idPtr(r.AppliedBy), AppliedAt: fromMS(r.AppliedAt)}
}

const selectApplied = `SELECT t.id, t.account_id, t.name, t.type, t.archived, t.used, t.created_at, t.updated_at,
       ct.conversation_id, ct.applied_by, ct.applied_at
FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id`

const byApplied = ` ORDER BY ct.applied_at, ct.tag_id`

// appliedTags reads the tags on a conversation, oldest applied first; q
// may be the transaction.
func appliedTags(ctx context.Context, q sqlx.QueryerContext, accountID, conversationID parley.ID) ([]conversations.AppliedTag, error) {
	var rows []appliedRow
	query := selectApplied + ` WHERE ct.account_id = ? AND ct.conversation_id = ?` + byApplied
	if err := sqlx.SelectContext(ctx, q, &rows, rebind(q, query), accountID, conversationID); err != nil {
		return nil, translate(err)
	}
	out := make([]conversations.AppliedTag, len(rows))
	for i, r := range rows {
		out[i] = r.applied()
	}
	return out, nil
}

// ListConversationTags lists the tags on a conversation, oldest applied
// first.
func (db *DB) ListConversationTags(ctx context.Context, accountID, conversationID parley.ID) ([]conversations.AppliedTag, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, err
	}
	return appliedTags(ctx, db.db, accountID, conversationID)
}

// withTags fills the conversations' Tags and FinalTag, for a page in
// one query (two when a final tag is no longer on its conversation).
func withTags(ctx context.Context, q sqlx.QueryerContext, convs []conversations.Conversation, finals []*int64) error {
	if len(convs) == 0 {
		return nil
	}
	ids := make([]int64, len(convs))
	for i, c := range convs {
		ids[i] = int64(c.ID)
	}
	// By conversation alone: a group-commit batch reads back the
	// conversations of several accounts.
	query, args, err := sqlx.In(selectApplied+` WHERE ct.conversation_id IN (?)`+byApplied, ids)
	if err != nil {
		return err
	}
	var rows []appliedRow
	if err := sqlx.SelectContext(ctx, q, &rows, rebind(q, query), args...); err != nil {
		return translate(err)
	}
	byConv := map[int64][]conversations.TagRef{}
	refs := map[int64]conversations.TagRef{}
	for _, r := range rows {
		byConv[r.ConversationID] = append(byConv[r.ConversationID], r.ref())
		refs[r.ID] = r.ref()
	}
	var missing []int64
	for _, f := range finals {
		if _, ok := refs[deref(f)]; f != nil && !ok {
			missing = append(missing, *f)
		}
	}
	if len(missing) > 0 {
		query, args, err := sqlx.In(`SELECT `+tagColumns+` FROM tags WHERE id IN (?)`, missing)
		if err != nil {
			return err
		}
		var tags []tagRow
		if err := sqlx.SelectContext(ctx, q, &tags, rebind(q, query), args...); err != nil {
			return translate(err)
		}
		for _, t := range tags {
			refs[t.ID] = t.ref()
		}
	}
	for i := range convs {
		convs[i].Tags = byConv[ids[i]]
		if convs[i].Tags == nil {
			convs[i].Tags = []conversations.TagRef{}
		}
		if f := finals[i]; f != nil {
			if ref, ok := refs[*f]; ok {
				convs[i].FinalTag = &ref
			}
		}
	}
	return nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// taggedConversationRow is a conversation's row read with taggedColumn.
type taggedConversationRow struct {
	conversationRow
	Tagged bool `db:"tagged"`
}

// taggedColumn says whether any tag is on the conversation cv: an index
// probe in the statement that reads it, where looking its tags up is a
// round trip of its own, and most threads carry none.
const taggedColumn = `, EXISTS (SELECT 1 FROM conversation_tags tg WHERE tg.conversation_id = cv.id) AS tagged`

// conversationsOfTagged turns rows into conversations with their tags,
// in order, looking tags up only for those that carry any or a final tag.
func conversationsOfTagged(ctx context.Context, q sqlx.QueryerContext, rows []taggedConversationRow) ([]conversations.Conversation, error) {
	out := make([]conversations.Conversation, len(rows))
	var tagged []conversationRow
	var at []int
	for i, r := range rows {
		if r.Tagged || r.FinalTagID != nil {
			tagged, at = append(tagged, r.conversationRow), append(at, i)
			continue
		}
		out[i] = r.conversation()
		out[i].Tags = []conversations.TagRef{}
	}
	read, err := conversationsWithTags(ctx, q, tagged)
	for k, c := range read {
		out[at[k]] = c
	}
	return out, err
}

// conversationsWithTags turns rows into conversations with their tags.
func conversationsWithTags(ctx context.Context, q sqlx.QueryerContext, rows []conversationRow) ([]conversations.Conversation, error) {
	out := make([]conversations.Conversation, len(rows))
	finals := make([]*int64, len(rows))
	for i, r := range rows {
		out[i], finals[i] = r.conversation(), r.FinalTagID
	}
	return out, withTags(ctx, q, out, finals)
}

// Episodes.

// openEpisode starts a conversation's episode, at its creation or its
// reopening. One already open is kept.
func openEpisode(ctx context.Context, tx *Tx, accountID, conversationID parley.ID, at time.Time) error {
	return execTogether(ctx, tx, openEpisodesStatement(dialectOf(tx), []openingEpisode{{accountID, conversationID, at}}))
}

// openingEpisode is an episode to open.
type openingEpisode struct {
	accountID, conversationID parley.ID
	at                        time.Time
}

// openEpisodesStatement opens episodes in one statement.
func openEpisodesStatement(d dialect, eps []openingEpisode) statement {
	if len(eps) == 0 {
		return statement{}
	}
	rows := make([][]any, len(eps))
	for i, e := range eps {
		rows[i] = []any{e.accountID, e.conversationID, ms(e.at)}
	}
	// WHERE true: SQLite reads an ON CONFLICT right after a FROM as a join's.
	q := `WITH ` + d.batchRows("v", "account_id BIGINT", "conversation_id BIGINT", "opened_at BIGINT") + `
INSERT INTO episodes (account_id, conversation_id, opened_at) SELECT * FROM v WHERE true
ON CONFLICT (conversation_id) WHERE closed_at IS NULL DO NOTHING`
	return batchStatement(q, rows)
}

// closeEpisode ends the conversation's open episode as it becomes
// resolved or closed, with final as its final tag (FinalTag of its tags
// unless the action named one), and keeps that final tag on the
// conversation for the list's filters.
func closeEpisode(ctx context.Context, tx *Tx, conv conversations.Conversation, as conversations.Status, by *parley.ID, final *conversations.TagRef, at time.Time) error {
	var finalID, finalType any
	if final != nil {
		finalID, finalType = final.ID, string(final.Type)
	}
	const q = `UPDATE episodes SET closed_at = ?, closed_as = ?, closed_by = ?, final_tag_id = ?, final_tag_type = ?
WHERE conversation_id = ? AND closed_at IS NULL`
	res, err := tx.ExecContext(ctx, tx.Rebind(q), ms(at), string(as), by, finalID, finalType, conv.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		// No open episode (a row written around the store): the stretch
		// that ends now is recorded as one opened at the conversation's
		// creation.
		const ins = `INSERT INTO episodes (account_id, conversation_id, opened_at, closed_at, closed_as, closed_by, final_tag_id, final_tag_type)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, tx.Rebind(ins), conv.AccountID, conv.ID, ms(conv.CreatedAt), ms(at), string(as), by, finalID, finalType); err != nil {
			return err
		}
	}
	if err := closedSends(ctx, tx, conv.ID, finalID, finalType, at); err != nil {
		return err
	}
	const upd = `UPDATE conversations SET final_tag_id = ?, final_tag_type = ? WHERE id = ?`
	_, err = tx.ExecContext(ctx, tx.Rebind(upd), finalID, finalType, conv.ID)
	return err
}

// reEndEpisode records a resolve or close of a conversation that had
// already ended (conversations.ReEnds): an episode from the last ending
// to now, closed with final, classifies the texts sent in between, and
// the episodes before keep their final tags. Only when that changes
// something (another final tag, or texts sent since): a repeat records
// nothing, and says so.
func reEndEpisode(ctx context.Context, tx *Tx, conv conversations.Conversation, as conversations.Status, by *parley.ID,
	final *conversations.TagRef, at time.Time) (bool, error) {
	var state struct {
		FinalTagID *int64 `db:"final_tag_id"`
		Waiting    int    `db:"waiting"`
		LastEnded  *int64 `db:"last_ended"`
	}
	const q = `SELECT final_tag_id,
    (SELECT COUNT(*) FROM (SELECT 1 FROM sends WHERE conversation_id = ? AND closed_episode_id IS NULL AND sent_at <= ? LIMIT 1) w) AS waiting,
    (SELECT MAX(closed_at) FROM episodes WHERE conversation_id = ?) AS last_ended
FROM conversations WHERE id = ?`
	if err := tx.GetContext(ctx, &state, tx.Rebind(q), conv.ID, ms(at), conv.ID, conv.ID); err != nil {
		return false, err
	}
	sameTag := (final == nil && state.FinalTagID == nil) || (final != nil && state.FinalTagID != nil && int64(final.ID) == *state.FinalTagID)
	if sameTag && state.Waiting == 0 {
		return false, nil
	}
	opened := at
	if state.LastEnded != nil && *state.LastEnded < ms(at) {
		opened = fromMS(*state.LastEnded)
	}
	if err := openEpisode(ctx, tx, conv.AccountID, conv.ID, opened); err != nil {
		return false, err
	}
	return true, closeEpisode(ctx, tx, conv, as, by, final, at)
}

type episodeRow struct {
	ID             int64   `db:"id"`
	ConversationID int64   `db:"conversation_id"`
	OpenedAt       int64   `db:"opened_at"`
	ClosedAt       *int64  `db:"closed_at"`
	ClosedAs       *string `db:"closed_as"`
	ClosedBy       *int64  `db:"closed_by"`
	FinalTagID     *int64  `db:"final_tag_id"`
	FinalTagName   *string `db:"final_tag_name"`
	FinalTagType   *string `db:"final_tag_type"`
}

func (r episodeRow) episode() conversations.Episode {
	e := conversations.Episode{ID: parley.ID(r.ID), ConversationID: parley.ID(r.ConversationID), OpenedAt: fromMS(r.OpenedAt),
		ClosedAt: fromMSPtr(r.ClosedAt), ClosedBy: idPtr(r.ClosedBy)}
	if r.ClosedAs != nil {
		e.ClosedAs = conversations.Status(*r.ClosedAs)
	}
	if r.FinalTagID != nil && r.FinalTagName != nil && r.FinalTagType != nil {
		e.FinalTag = &conversations.TagRef{ID: parley.ID(*r.FinalTagID), Name: *r.FinalTagName, Type: conversations.TagType(*r.FinalTagType)}
	}
	return e
}

// ListEpisodes lists a conversation's episodes, oldest first. A final
// tag shows the type it closed with, which cannot have changed since:
// a used tag's type is fixed.
func (db *DB) ListEpisodes(ctx context.Context, accountID, conversationID parley.ID) ([]conversations.Episode, error) {
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, err
	}
	var rows []episodeRow
	const q = `SELECT e.id, e.conversation_id, e.opened_at, e.closed_at, e.closed_as, e.closed_by, e.final_tag_id,
       t.name AS final_tag_name, e.final_tag_type
FROM episodes e LEFT JOIN tags t ON t.id = e.final_tag_id
WHERE e.account_id = ? AND e.conversation_id = ? ORDER BY e.id`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), accountID, conversationID); err != nil {
		return nil, translate(err)
	}
	out := make([]conversations.Episode, len(rows))
	for i, r := range rows {
		out[i] = r.episode()
	}
	return out, nil
}

// hasTags reports whether a conversation has any tag now.
func hasTags(ctx context.Context, tx *Tx, conversationID parley.ID) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM conversation_tags WHERE conversation_id = ?`), conversationID)
	return n > 0, err
}

// accountSettings reads an account's settings in the transaction.
func accountSettings(ctx context.Context, tx *Tx, accountID parley.ID) (conversations.Settings, error) {
	var raw string
	if err := tx.GetContext(ctx, &raw, tx.Rebind(`SELECT settings FROM accounts WHERE id = ?`), accountID); err != nil {
		return conversations.Settings{}, translate(err)
	}
	return decodeSettings(raw)
}
