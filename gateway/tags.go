package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

type tagJSON struct {
	ID       parley.ID `json:"id"`
	Name     string    `json:"name"`
	Type     string    `json:"type"`
	Archived bool      `json:"archived"`
}

func toTagJSON(t conversations.Tag) tagJSON {
	return tagJSON{ID: t.ID, Name: t.Name, Type: string(t.Type), Archived: t.Archived}
}

// tagRefJSON is a tag as a conversation shows it.
type tagRefJSON struct {
	ID   parley.ID `json:"id"`
	Name string    `json:"name"`
	Type string    `json:"type"`
}

func toTagRefJSON(t conversations.TagRef) tagRefJSON {
	return tagRefJSON{ID: t.ID, Name: t.Name, Type: string(t.Type)}
}

// toTagRefsJSON is a conversation's tags: always an array.
func toTagRefsJSON(tags []conversations.TagRef) []tagRefJSON {
	out := make([]tagRefJSON, len(tags))
	for i, t := range tags {
		out[i] = toTagRefJSON(t)
	}
	return out
}

func toFinalTagJSON(t *conversations.TagRef) *tagRefJSON {
	if t == nil {
		return nil
	}
	ref := toTagRefJSON(*t)
	return &ref
}

func handleCreateTag(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			Name string                `json:"name"`
			Type conversations.TagType `json:"type"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		n := conversations.NewTag{AccountID: currentUser(r).AccountID, Name: in.Name, Type: in.Type, At: d.Clock.Now()}
		if err := n.Validate(); err != nil {
			return err
		}
		t, err := d.Tags.CreateTag(r.Context(), n)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toTagJSON(t))
		return nil
	}
}

// handleListTags lists the account's tags to everyone: staff pick from
// them when they tag or resolve a thread.
func handleListTags(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		archived := false
		if raw := r.URL.Query().Get("archived"); raw != "" {
			var err error
			if archived, err = strconv.ParseBool(raw); err != nil {
				return parley.Invalid(map[string]string{"archived": "must be true or false"})
			}
		}
		tags, err := d.Tags.ListTags(r.Context(), currentUser(r).AccountID, archived)
		if err != nil {
			return err
		}
		// By name as the store folds it for uniqueness, then id.
		return writePageOf(w, r, tags, func(t conversations.Tag) string { return strings.ToLower(t.Name) + "\x00" + idKey(t.ID) }, toTagJSON)
	}
}

func handleGetTag(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		t, err := d.Tags.GetTag(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toTagJSON(t))
		return nil
	}
}

func handlePatchTag(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Name     *string                `json:"name"`
			Type     *conversations.TagType `json:"type"`
			Archived *bool                  `json:"archived"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		p := conversations.TagPatch{Name: in.Name, Type: in.Type, Archived: in.Archived, At: d.Clock.Now()}
		if err := p.Validate(); err != nil {
			return err
		}
		t, err := d.Tags.UpdateTag(r.Context(), currentUser(r).AccountID, id, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toTagJSON(t))
		return nil
	}
}

func handleTagConversation(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		var in struct {
			TagID *parley.ID `json:"tag_id"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if in.TagID == nil {
			return parley.Invalid(map[string]string{"tag_id": "is required"})
		}
		return changeTag(w, r, d, c, *in.TagID, d.Tags.TagConversation)
	}
}

func handleUntagConversation(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		tagID, err := parley.ParseID(mux.Vars(r)["tag_id"])
		if err != nil {
			return err
		}
		return changeTag(w, r, d, c, tagID, d.Tags.UntagConversation)
	}
}

// changeTag tags or untags a conversation the caller may see and answers
// with the conversation as it is after.
func changeTag(w http.ResponseWriter, r *http.Request, d *Deps, c conversations.Conversation, tagID parley.ID,
	apply func(ctx context.Context, c conversations.TagChange) (conversations.Conversation, error)) error {
	me := currentUser(r)
	conv, err := apply(r.Context(), conversations.TagChange{AccountID: me.AccountID, ConversationID: c.ID, TagID: tagID,
		Actor: me, At: d.Clock.Now()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toConversationJSON(conv))
	return nil
}

// episodeJSON is one stretch of a conversation from its (re)opening to
// its resolve or close, with the final tag it closed with.
type episodeJSON struct {
	ID       parley.ID   `json:"id"`
	OpenedAt time.Time   `json:"opened_at"`
	ClosedAt *time.Time  `json:"closed_at"`
	ClosedAs *string     `json:"closed_as"`
	ClosedBy *parley.ID  `json:"closed_by"`
	FinalTag *tagRefJSON `json:"final_tag"`
}

func toEpisodeJSON(e conversations.Episode) episodeJSON {
	out := episodeJSON{ID: e.ID, OpenedAt: e.OpenedAt, ClosedAt: e.ClosedAt, ClosedBy: e.ClosedBy, FinalTag: toFinalTagJSON(e.FinalTag)}
	if e.ClosedAs != "" {
		as := string(e.ClosedAs)
		out.ClosedAs = &as
	}
	return out
}

// handleListEpisodes shows how each stretch of a thread ended (extends
// API.md): the final tags reports count, which a reopen never rewrites.
func handleListEpisodes(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		eps, err := d.Tags.ListEpisodes(r.Context(), c.AccountID, c.ID)
		if err != nil {
			return err
		}
		return writePageOf(w, r, eps, func(e conversations.Episode) string { return idKey(e.ID) }, toEpisodeJSON)
	}
}
