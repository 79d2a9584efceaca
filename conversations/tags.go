package conversations

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// TagType is what a tag says about how a conversation went; the outbound
// report counts sales by it.
type TagType string

// Tagging types (API.md, "Tags and final tagging").
const (
	TagPositive          TagType = "positive"
	TagNegative          TagType = "negative"
	TagFollowUp          TagType = "follow_up"
	TagSelfManagementEnd TagType = "self_management_end"
	TagSale              TagType = "sale"
	TagOther             TagType = "other"
)

// TagTypes lists them in API.md's order.
var TagTypes = []TagType{TagPositive, TagNegative, TagFollowUp, TagSelfManagementEnd, TagSale, TagOther}

// Valid reports whether t is a tagging type.
func (t TagType) Valid() bool {
	for _, x := range TagTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Tag is one of an account's tags. Its type is fixed once it has been
// applied: reports already counted it as that type. An archived tag is
// kept on the conversations and episodes that have it but is no longer
// offered or applied.
type Tag struct {
	ID        parley.ID
	AccountID parley.ID
	Name      string
	Type      TagType
	Archived  bool
	// Used is true once the tag has been applied to any conversation.
	Used      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TagRef is a tag as conversations and episodes show it.
type TagRef struct {
	ID   parley.ID
	Name string
	Type TagType
}

// maxTagName bounds a tag's name.
const maxTagName = 100

// NewTag is POST /v1/tags.
type NewTag struct {
	AccountID parley.ID
	Name      string
	Type      TagType
	At        time.Time
}

// Validate trims the name and checks both fields: 422 naming each.
func (n *NewTag) Validate() error {
	fields := map[string]string{}
	n.Name = strings.TrimSpace(n.Name)
	if msg := tagNameProblem(n.Name); msg != "" {
		fields["name"] = msg
	}
	if !n.Type.Valid() {
		fields["type"] = "must be one of positive, negative, follow_up, self_management_end, sale, other"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// TagPatch is PATCH /v1/tags/{id}; nil fields are left alone. Type may
// change only while the tag is unused (ECONFLICT tag_type_fixed after).
type TagPatch struct {
	Name     *string
	Type     *TagType
	Archived *bool
	At       time.Time
}

// Validate trims the name and checks the fields given.
func (p *TagPatch) Validate() error {
	fields := map[string]string{}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		p.Name = &name
		if msg := tagNameProblem(name); msg != "" {
			fields["name"] = msg
		}
	}
	if p.Type != nil && !p.Type.Valid() {
		fields["type"] = "must be one of positive, negative, follow_up, self_management_end, sale, other"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

func tagNameProblem(name string) string {
	if name == "" || len(name) > maxTagName || !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n\t") {
		return "is required, at most 100 bytes on one line"
	}
	return ""
}

// Episode is a conversation's stretch from its opening (or reopening) to
// its resolve or close. A closed episode keeps the final tag it closed
// with, whatever happens to the conversation's tags later: reports count
// episodes, so a reopen never rewrites how an earlier one ended.
type Episode struct {
	ID             parley.ID
	ConversationID parley.ID
	OpenedAt       time.Time
	ClosedAt       *time.Time
	ClosedAs       Status // resolved or closed; "" while open
	ClosedBy       *parley.ID
	FinalTag       *TagRef
}

// AppliedTag is a tag on a conversation and when it was applied.
type AppliedTag struct {
	Tag       TagRef
	AppliedBy *parley.ID
	AppliedAt time.Time
}

// FinalTag is the tag an episode closes with: the one applied last among
// those the conversation has at that moment (ties: the higher tag id), or
// none.
func FinalTag(applied []AppliedTag) *TagRef {
	var last *AppliedTag
	for i := range applied {
		a := &applied[i]
		if last == nil || a.AppliedAt.After(last.AppliedAt) ||
			(a.AppliedAt.Equal(last.AppliedAt) && a.Tag.ID > last.Tag.ID) {
			last = a
		}
	}
	if last == nil {
		return nil
	}
	ref := last.Tag
	return &ref
}

// ended reports whether a conversation in status s has ended an episode.
func ended(s Status) bool { return s == StatusResolved || s == StatusClosed }

// Closes reports whether a status change ends an episode: the
// conversation becomes resolved or closed from a live status. Resolved →
// closed tidies an episode already ended.
func Closes(from, to Status) bool {
	return ended(to) && !ended(from)
}

// ReEnds reports whether a resolve or close ends an already ended
// conversation again: the action names a tag to end with. Its stretch
// since the last ending (texts sent into the ended thread) is then an
// episode of its own, closed with that tag. Without a tag, resolved and
// closed swapped only tidy the ended episode.
func ReEnds(from, to Status, tagNamed bool) bool {
	return ended(from) && ended(to) && tagNamed
}

// Opens reports whether a status change starts a new episode: a
// resolved or closed conversation becomes live again (reopened by staff,
// or by the contact's new text).
func Opens(from, to Status) bool {
	return ended(from) && !ended(to)
}

// TagChange tags or untags a conversation (POST/DELETE
// /v1/conversations/{id}/tags).
type TagChange struct {
	AccountID      parley.ID
	ConversationID parley.ID
	TagID          parley.ID
	Actor          User
	At             time.Time
}

// TagStore keeps tags, conversation tags and episodes (the store package
// implements it). Every call is scoped to the account; an id of another
// account is ENOTFOUND (naming tag_id where the id came in a body).
//
// Episodes are kept by the store in the transactions that change a
// conversation's status: one opens when a conversation is created and
// whenever Opens(from, to); one closes, with FinalTag of the
// conversation's tags at that moment, whenever Closes(from, to).
// StatusChange.TagID, when set, applies that tag in the same transaction
// before the episode closes.
type TagStore interface {
	CreateTag(ctx context.Context, n NewTag) (Tag, error) // ECONFLICT tag_name_taken
	ListTags(ctx context.Context, accountID parley.ID, includeArchived bool) ([]Tag, error)
	GetTag(ctx context.Context, accountID, id parley.ID) (Tag, error)
	UpdateTag(ctx context.Context, accountID, id parley.ID, p TagPatch) (Tag, error)

	// TagConversation applies a tag (a no-op when it is on already;
	// EINVALID naming tag_id for an archived tag); UntagConversation
	// removes it (a no-op when it is not on). Each change writes the
	// conversation events tag_added / tag_removed and conversation.updated,
	// and returns the conversation as it is after.
	TagConversation(ctx context.Context, c TagChange) (Conversation, error)
	UntagConversation(ctx context.Context, c TagChange) (Conversation, error)
	ListConversationTags(ctx context.Context, accountID, conversationID parley.ID) ([]AppliedTag, error)
	ListEpisodes(ctx context.Context, accountID, conversationID parley.ID) ([]Episode, error)
}

// ClosingTagRequired checks a resolve or close against the account's
// setting: with RequireClosingTag, the episode must end with a final tag,
// either one the conversation has or the one given with the action (422
// naming tag_id otherwise).
func ClosingTagRequired(s Settings, hasTags bool, tagID *parley.ID) error {
	if !s.RequireClosingTag || hasTags || tagID != nil {
		return nil
	}
	return parley.Invalid(map[string]string{"tag_id": "is required: this account closes conversations with a tag"})
}
