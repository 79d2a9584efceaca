package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Tags: the admin's Settings → Tags page (the account's tags and the
// closing-tag requirement), and a thread's tags (chips, add, remove).
// Resolving with a tag is the status forms' tag_id (actions.go). Each
// calls the domain as the JSON API's tag handlers do.

// tagTypeLabels are the tagging types as people read them.
var tagTypeLabels = map[conversations.TagType]string{
	conversations.TagPositive:          "Positive",
	conversations.TagNegative:          "Negative",
	conversations.TagFollowUp:          "Follow-up",
	conversations.TagSelfManagementEnd: "Self-management end",
	conversations.TagSale:              "Sale",
	conversations.TagOther:             "Other",
}

// tagTypeLabel names a tagging type for a person.
func tagTypeLabel(t conversations.TagType) string {
	if l, ok := tagTypeLabels[t]; ok {
		return l
	}
	return string(t)
}

func (s *Server) tagRoutes(r *mux.Router) {
	r.Handle("/settings/tags", s.adminPage(s.tagsPage)).Methods(http.MethodGet)
	r.Handle("/settings/tags", s.adminPage(s.createTag)).Methods(http.MethodPost)
	r.Handle("/settings/tags/{id:[0-9]+}", s.adminPage(s.editTag)).Methods(http.MethodPost)
	r.Handle("/settings/tags/{id:[0-9]+}/archived", s.adminPage(s.archiveTag)).Methods(http.MethodPost)
	r.Handle("/inbox/conversations/{id}/tags", s.page(s.tagThread)).Methods(http.MethodPost)
	r.Handle("/inbox/conversations/{id}/tags/{tag_id}/delete", s.page(s.untagThread)).Methods(http.MethodPost)
}

// ---- Settings → Tags ---------------------------------------------------

type tagsData struct {
	Tags              []conversations.Tag
	Types             []conversations.TagType
	RequireClosingTag bool
}

func (s *Server) tagsPage(w http.ResponseWriter, r *http.Request) error {
	accountID := me(r).AccountID
	tags, err := s.d.Tags.ListTags(r.Context(), accountID, true)
	if err != nil {
		return err
	}
	st, err := s.d.Store.GetSettings(r.Context(), accountID)
	if err != nil {
		return err
	}
	return s.render(w, r, "settings_tags", "Tags · Settings", tagsData{Tags: tags, Types: conversations.TagTypes, RequireClosingTag: st.RequireClosingTag})
}

func (s *Server) createTag(w http.ResponseWriter, r *http.Request) error {
	n := conversations.NewTag{AccountID: me(r).AccountID, Name: r.PostFormValue("name"),
		Type: conversations.TagType(r.PostFormValue("type")), At: s.d.Clock.Now()}
	if err := n.Validate(); err != nil {
		return err
	}
	if _, err := s.d.Tags.CreateTag(r.Context(), n); err != nil {
		return err
	}
	return done(w, r, "/settings/tags")
}

// editTag renames a tag and, while it is unused, changes its type.
func (s *Server) editTag(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	accountID := me(r).AccountID
	tag, err := s.d.Tags.GetTag(r.Context(), accountID, id)
	if err != nil {
		return err
	}
	p, err := tagEdit(r, tag, s.d.Clock.Now())
	if err != nil {
		return err
	}
	if _, err := s.d.Tags.UpdateTag(r.Context(), accountID, id, p); err != nil {
		var pe *parley.Error
		if errors.As(err, &pe) && pe.Code == "tag_type_fixed" {
			return typeFixed(tag)
		}
		return err
	}
	return done(w, r, "/settings/tags")
}

// tagEdit is a tag row's form as a patch: the name, and the type only
// when the form changes it, so that renaming a used tag is never
// refused for its type.
func tagEdit(r *http.Request, tag conversations.Tag, at time.Time) (conversations.TagPatch, error) {
	name := r.PostFormValue("name")
	p := conversations.TagPatch{Name: &name, At: at}
	if raw := r.PostFormValue("type"); raw != "" && conversations.TagType(raw) != tag.Type {
		typ := conversations.TagType(raw)
		p.Type = &typ
	}
	return p, p.Validate()
}

// typeFixed is the store's refusal to retype a tag already applied
// (409), saying what to do instead.
func typeFixed(tag conversations.Tag) error {
	return parley.Conflict("tag_type_fixed", "%s has been applied to conversations, so its type stays %s: reports have counted it as that. Create a new tag for the other type.",
		tag.Name, tagTypeLabel(tag.Type))
}

// archiveTag archives (archived=true) or brings back a tag.
func (s *Server) archiveTag(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	archived := r.PostFormValue("archived") == "true"
	if _, err := s.d.Tags.UpdateTag(r.Context(), me(r).AccountID, id, conversations.TagPatch{Archived: &archived, At: s.d.Clock.Now()}); err != nil {
		return err
	}
	return done(w, r, "/settings/tags")
}

// ---- a thread's tags ---------------------------------------------------

// tagChange is the tag change a thread's form asks for, once the user
// may act on the conversation.
func (s *Server) tagChange(r *http.Request, rawTag string) (conversations.TagChange, error) {
	conv, err := s.visible(r)
	if err != nil {
		return conversations.TagChange{}, err
	}
	u := me(r)
	if !conversations.CanAct(u, conv) {
		return conversations.TagChange{}, parley.Errorf(parley.EFORBIDDEN, "only the assignee or someone who sees all conversations can tag this one")
	}
	tagID, err := parley.ParseID(rawTag)
	if err != nil {
		return conversations.TagChange{}, parley.Invalid(map[string]string{"tag_id": "must be one of the account's tags"})
	}
	return conversations.TagChange{AccountID: u.AccountID, ConversationID: conv.ID, TagID: tagID, Actor: u, At: s.d.Clock.Now()}, nil
}

func (s *Server) tagThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.tagChange(r, r.PostFormValue("tag_id"))
	if err != nil {
		return err
	}
	if _, err := s.d.Tags.TagConversation(r.Context(), c); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) untagThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.tagChange(r, mux.Vars(r)["tag_id"])
	if err != nil {
		return err
	}
	if _, err := s.d.Tags.UntagConversation(r.Context(), c); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// offeredTags are the account's unarchived tags: what the add and the
// resolve-with-tag controls offer.
func (s *Server) offeredTags(ctx context.Context, accountID parley.ID) ([]conversations.Tag, error) {
	return s.d.Tags.ListTags(ctx, accountID, false)
}

// Addable are the offered tags the conversation does not have yet.
func (t *threadData) Addable() []conversations.Tag {
	return slices.DeleteFunc(slices.Clone(t.Tags), func(tag conversations.Tag) bool {
		return slices.ContainsFunc(t.Conv.Tags, func(on conversations.TagRef) bool { return on.ID == tag.ID })
	})
}

// ClosesWithTag reports whether the thread offers resolving or closing
// with a tag: whenever there are tags to choose. A live thread ends with
// it; a resolved or closed one ends again (conversations.ReEnds), which
// classifies what was sent into it since it ended.
func (t *threadData) ClosesWithTag() bool {
	return len(t.Tags) > 0
}

// ClosedNow reports whether the thread is closed: its "with tag" form
// then closes it again rather than resolving it.
func (t *threadData) ClosedNow() bool {
	return t.Conv.Status == conversations.StatusClosed
}

// CloseWithTagLabel names the "with tag" menu for the thread's status.
func (t *threadData) CloseWithTagLabel() string {
	switch t.Conv.Status {
	case conversations.StatusResolved:
		return "Resolve again with tag…"
	case conversations.StatusClosed:
		return "Close again with tag…"
	}
	return "Resolve with tag…"
}

// closingTagRefusal checks a resolve or close without a tag against the
// account's closing-tag requirement before the store does, to say what
// to do in the words of the page. As in the store, only a change that
// ends an episode needs one (closing a resolved thread does not).
func (s *Server) closingTagRefusal(r *http.Request, target conversations.Status) error {
	st, err := s.d.Store.GetSettings(r.Context(), me(r).AccountID)
	if err != nil || !st.RequireClosingTag {
		return err
	}
	conv, err := s.visible(r)
	if err != nil {
		return err
	}
	if conversations.Closes(conv.Status, target) && conversations.ClosingTagRequired(st, len(conv.Tags) > 0, nil) != nil {
		return parley.Errorf(parley.EINVALID, "This account closes conversations with a tag: add a tag to this one first, or choose one with “Resolve with tag…”.")
	}
	return nil
}
