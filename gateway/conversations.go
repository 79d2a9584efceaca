package gateway

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

type contactRefJSON struct {
	ID   parley.ID `json:"id"`
	Name string    `json:"name"`
}

type conversationJSON struct {
	ID                  parley.ID      `json:"id"`
	InboxID             parley.ID      `json:"inbox_id"`
	ChannelID           parley.ID      `json:"channel_id"`
	Contact             contactRefJSON `json:"contact"`
	ContactPhone        string         `json:"contact_phone"`
	BusinessPhone       string         `json:"business_phone"`
	Status              string         `json:"status"`
	Priority            string         `json:"priority"`
	AssigneeID          *parley.ID     `json:"assignee_id"`
	SnoozedUntil        *time.Time     `json:"snoozed_until"`
	OptedOut            bool           `json:"opted_out"`
	RevocationFlaggedAt *time.Time     `json:"revocation_flagged_at"`
	// RevocationFlag is the flag waiting for staff, with why it was
	// raised; null when none waits.
	RevocationFlag *revocationFlagJSON `json:"revocation_flag"`
	LastMessageAt  time.Time           `json:"last_message_at"`
	LastInboundAt  *time.Time          `json:"last_inbound_at"`
	// Outcomes are the distinct types of its outcomes (the inbox's
	// indicator); always an array.
	Outcomes   []outcomes.Type `json:"outcomes"`
	LinksCount int             `json:"links_count"`
	// Tags are on it now (always an array); FinalTag is what its latest
	// closed episode closed with.
	Tags      []tagRefJSON `json:"tags"`
	FinalTag  *tagRefJSON  `json:"final_tag"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

func toConversationJSON(c conversations.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, InboxID: c.InboxID, ChannelID: c.ChannelID, Contact: contactRefJSON{c.ContactID, c.ContactName},
		ContactPhone: c.ContactPhone, BusinessPhone: c.BusinessPhone, Status: string(c.Status), Priority: string(c.Priority),
		AssigneeID: c.AssigneeID, SnoozedUntil: c.SnoozedUntil, OptedOut: c.OptedOut, RevocationFlaggedAt: c.RevocationFlaggedAt,
		LastMessageAt: c.LastMessageAt, LastInboundAt: c.LastInboundAt, Outcomes: c.Outcomes.Types(), LinksCount: c.LinksCount,
		Tags: toTagRefsJSON(c.Tags), FinalTag: toFinalTagJSON(c.FinalTag), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		RevocationFlag: toRevocationFlagJSON(c.Revocation)}
}

type revocationFlagJSON struct {
	FlaggedAt time.Time  `json:"flagged_at"`
	MessageID *parley.ID `json:"message_id"`
	Rule      string     `json:"rule"`
	Reason    string     `json:"reason"`
}

func toRevocationFlagJSON(f *conversations.RevocationFlag) *revocationFlagJSON {
	if f == nil {
		return nil
	}
	out := &revocationFlagJSON{FlaggedAt: f.At, Rule: f.Rule, Reason: f.Reason}
	if f.MessageID != 0 {
		out.MessageID = &f.MessageID
	}
	return out
}

type messageJSON struct {
	ID               parley.ID  `json:"id"`
	ConversationID   parley.ID  `json:"conversation_id"`
	Direction        string     `json:"direction"`
	Kind             string     `json:"kind"`
	Body             string     `json:"body"`
	MediaURLs        []string   `json:"media_urls"`
	Status           *string    `json:"status"` // null for notes: they are never sent
	ErrorCode        *int       `json:"error_code"`
	ErrorReason      *string    `json:"error_reason,omitempty"`
	CarrierMessageID *string    `json:"carrier_message_id"`
	AuthorID         *parley.ID `json:"author_id"`
	CampaignID       *parley.ID `json:"campaign_id"`
	Segments         int        `json:"segments"`
	Encoding         string     `json:"encoding,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func toMessageJSON(m conversations.Message) messageJSON {
	out := messageJSON{ID: m.ID, ConversationID: m.ConversationID, Direction: string(m.Direction), Kind: string(m.Kind),
		Body: m.Body, MediaURLs: m.MediaURLs, ErrorCode: m.ErrorCode, AuthorID: m.AuthorID,
		CampaignID: m.CampaignID, Segments: m.Segments, Encoding: m.Encoding, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.ErrorReason != "" {
		out.ErrorReason = &m.ErrorReason
	}
	if m.CarrierMessageID != "" {
		out.CarrierMessageID = &m.CarrierMessageID
	}
	if m.Status != "" {
		status := string(m.Status)
		out.Status = &status
	}
	if out.MediaURLs == nil {
		out.MediaURLs = []string{}
	}
	return out
}

// conversationFilter reads the list query of API.md: the view rules and
// filters are conversations.ParseListQuery's, shared with the web inbox.
func conversationFilter(r *http.Request) (conversations.ConversationFilter, error) {
	f, _, err := conversations.ParseListQuery(currentUser(r), r.URL.Query())
	if err != nil {
		return f, err
	}
	if f.ContactPhone, err = phoneParam(r, "contact_phone"); err != nil {
		return f, err
	}
	f.Page, err = pageFrom(r)
	return f, err
}

func handleListConversations(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := conversationFilter(r)
		if err != nil {
			return err
		}
		return listConversations(w, r, d, f)
	}
}

func listConversations(w http.ResponseWriter, r *http.Request, d *Deps, f conversations.ConversationFilter) error {
	convs, next, err := d.Store.FindConversations(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, convs, next, toConversationJSON)
	return nil
}

// visibleConversation loads the {id} conversation if the caller may see
// it (conversations.Visible).
func visibleConversation(r *http.Request, d *Deps) (conversations.Conversation, error) {
	id, err := pathID(r)
	if err != nil {
		return conversations.Conversation{}, err
	}
	return conversations.Visible(r.Context(), d.Store, currentUser(r), id)
}

func handleGetConversation(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := visibleConversation(r, d)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConversationJSON(c))
		return nil
	}
}

func handleListMessages(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := visibleConversation(r, d)
		if err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		msgs, next, err := d.Store.ListMessages(r.Context(), c.AccountID, c.ID, page)
		if err != nil {
			return err
		}
		writePage(w, msgs, next, toMessageJSON)
		return nil
	}
}
