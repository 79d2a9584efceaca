package gateway

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// handleReply queues a staff text: 202, because the carrier has not seen it yet.
func handleReply(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Body      string   `json:"body"`
			MediaURLs []string `json:"media_urls"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		reply := conversations.Reply{AccountID: me.AccountID, ConversationID: id, Author: me, Body: in.Body, MediaURLs: in.MediaURLs, At: d.Clock.Now()}
		if err := reply.Validate(); err != nil {
			return err
		}
		m, err := d.Staff.QueueReply(r.Context(), reply)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, toMessageJSON(m))
		return nil
	}
}

// handlePreview tells staff what a text will cost before they send it.
func handlePreview(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Body *string `json:"body"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if in.Body == nil {
			return parley.Invalid(map[string]string{"body": "is required"})
		}
		s := conversations.Segment(*in.Body)
		writeJSON(w, http.StatusOK, map[string]any{"segments": s.Segments, "encoding": s.Encoding, "characters": s.Characters})
		return nil
	}
}

func handleNote(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Body string `json:"body"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		n := conversations.Note{AccountID: me.AccountID, ConversationID: id, Author: me, Body: in.Body, At: d.Clock.Now()}
		if err := n.Validate(); err != nil {
			return err
		}
		m, err := d.Staff.AddNote(r.Context(), n)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toMessageJSON(m))
		return nil
	}
}

// handleStatusAction serves resolve, reopen, close, pending and snooze;
// the action is the last path segment.
func handleStatusAction(d *Deps, action conversations.Action) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		c := conversations.StatusChange{AccountID: me.AccountID, ConversationID: id, Actor: me, Action: action, At: d.Clock.Now()}
		if action == conversations.ActionSnooze {
			var in struct {
				Until *string `json:"until"`
			}
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if in.Until != nil {
				until, err := conversations.ParseSnoozeUntil(*in.Until, nil)
				if err != nil {
					return err
				}
				c.Until = &until
			}
		} else if action == conversations.ActionResolve || action == conversations.ActionClose {
			// The body is optional: no body, {} or {"tag_id": …}.
			var in struct {
				TagID *parley.ID `json:"tag_id"`
			}
			if err := decodeBodyOrNone(w, r, &in); err != nil {
				return err
			}
			c.TagID = in.TagID
		} else if err := decodeOptional(w, r); err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		conv, err := d.Staff.ChangeStatus(r.Context(), c)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConversationJSON(conv))
		return nil
	}
}

// decodeOptional accepts no body (also when sent chunked, with no
// Content-Length) or an empty JSON object; anything else is the usual error.
func decodeOptional(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var none struct{}
	return decodeBody(body, &none)
}

// pathIDWithoutBody reads the {id} of an action that takes no body (none,
// or an empty JSON object).
func pathIDWithoutBody(w http.ResponseWriter, r *http.Request) (parley.ID, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	return id, decodeOptional(w, r)
}

// handleAnswerRevocation answers a conversation's revocation flag:
// record-opt-out records the opt-out it asks for (the flagged text is the
// consent log's evidence), dismiss-revocation says it asked for nothing.
func handleAnswerRevocation(d *Deps, a conversations.RevocationAnswer) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathIDWithoutBody(w, r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		conv, err := d.Revocations.AnswerRevocation(r.Context(), me.AccountID, id, me, a, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConversationJSON(conv))
		return nil
	}
}

func handleAssign(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			AssigneeID *parley.ID `json:"assignee_id"`
		}
		present, err := decodeWithKeys(w, r, &in)
		if err != nil {
			return err
		}
		if !present["assignee_id"] {
			return parley.Invalid(map[string]string{"assignee_id": "is required (null unassigns)"})
		}
		me := currentUser(r)
		conv, err := d.Staff.Assign(r.Context(), conversations.Assignment{AccountID: me.AccountID, ConversationID: id, Actor: me,
			AssigneeID: in.AssigneeID, At: d.Clock.Now()})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConversationJSON(conv))
		return nil
	}
}

func handlePatchConversation(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Priority *string `json:"priority"`
		}
		keys, err := decodeWithKeys(w, r, &in)
		if err != nil {
			return err
		}
		if keys["priority"] && in.Priority == nil { // null clears nothing: "none" does
			return parley.Invalid(map[string]string{"priority": `must be one of none, low, medium, high, urgent ("none" clears it), not null`})
		}
		me := currentUser(r)
		if in.Priority == nil {
			conv, err := visibleConversation(r, d)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, toConversationJSON(conv))
			return nil
		}
		p := conversations.Priority(*in.Priority)
		if !p.Valid() {
			return parley.Invalid(map[string]string{"priority": "must be one of none, low, medium, high, urgent"})
		}
		conv, err := d.Staff.SetPriority(r.Context(), conversations.PriorityChange{AccountID: me.AccountID, ConversationID: id,
			Actor: me, Priority: p, At: d.Clock.Now()})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConversationJSON(conv))
		return nil
	}
}

type eventJSON struct {
	ID             parley.ID      `json:"id"`
	ConversationID parley.ID      `json:"conversation_id"`
	Type           string         `json:"type"`
	ActorType      string         `json:"actor_type"`
	ActorID        *parley.ID     `json:"actor_id"`
	Data           map[string]any `json:"data"`
	CreatedAt      time.Time      `json:"created_at"`
}

func toEventJSON(e conversations.Event) eventJSON {
	return eventJSON{ID: e.ID, ConversationID: e.ConversationID, Type: string(e.Type), ActorType: string(e.ActorType),
		ActorID: e.ActorID, Data: e.Data, CreatedAt: e.CreatedAt}
}

func handleListEvents(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := visibleConversation(r, d)
		if err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		events, next, err := d.Staff.ListEvents(r.Context(), c.AccountID, c.ID, page)
		if err != nil {
			return err
		}
		writePage(w, events, next, toEventJSON)
		return nil
	}
}

type notificationJSON struct {
	ID             parley.ID  `json:"id"`
	Kind           string     `json:"kind"`
	ConversationID *parley.ID `json:"conversation_id"`
	MessageID      *parley.ID `json:"message_id"`
	// WebhookEndpointID: the endpoint of a webhook_endpoint_disabled.
	WebhookEndpointID *parley.ID `json:"webhook_endpoint_id,omitempty"`
	ActorID           *parley.ID `json:"actor_id"`
	Read              bool       `json:"read"`
	ReadAt            *time.Time `json:"read_at"`
	CreatedAt         time.Time  `json:"created_at"`
}

func toNotificationJSON(n conversations.Notification) notificationJSON {
	j := notificationJSON{ID: n.ID, Kind: string(n.Kind), MessageID: n.MessageID, WebhookEndpointID: n.WebhookEndpointID,
		ActorID: n.ActorID, Read: n.ReadAt != nil, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt}
	if n.ConversationID != 0 {
		j.ConversationID = &n.ConversationID
	}
	return j
}

func handleListNotifications(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		ns, next, err := d.Staff.ListNotifications(r.Context(), me.AccountID, me.ID, page)
		if err != nil {
			return err
		}
		writePage(w, ns, next, toNotificationJSON)
		return nil
	}
}

func handleReadNotification(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathIDWithoutBody(w, r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		n, err := d.Staff.MarkNotificationRead(r.Context(), me.AccountID, me.ID, id, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toNotificationJSON(n))
		return nil
	}
}

func handlePatchContact(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Name       *string         `json:"name"`
			Type       *string         `json:"type"`
			Attributes *map[string]any `json:"attributes"`
			Phones     *[]string       `json:"phones"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		c, err := d.Staff.UpdateContact(r.Context(), me.AccountID, id, conversations.ContactPatch(in), d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toContactJSON(c))
		return nil
	}
}
