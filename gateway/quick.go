package gateway

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
)

type quickSentJSON struct {
	To             string    `json:"to"`
	ConversationID parley.ID `json:"conversation_id"`
	MessageID      parley.ID `json:"message_id"`
}

type quickSkipJSON struct {
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// handleQuickMessage queues one text to several numbers and contacts: 202,
// with what was queued and what was skipped (opted out, not a number).
func handleQuickMessage(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			ChannelID  *parley.ID  `json:"channel_id"`
			Body       string      `json:"body"`
			To         []string    `json:"to"`
			ContactIDs []parley.ID `json:"contact_ids"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		q := campaigns.QuickMessage{AccountID: me.AccountID, Sender: me, Body: in.Body, To: in.To, ContactIDs: in.ContactIDs, At: d.Clock.Now()}
		if in.ChannelID != nil {
			q.ChannelID = *in.ChannelID
		}
		res, err := q.Send(r.Context(), d.Quick)
		if err != nil {
			return err
		}
		out := struct {
			Messages []quickSentJSON `json:"messages"`
			Skipped  []quickSkipJSON `json:"skipped"`
		}{Messages: []quickSentJSON{}, Skipped: []quickSkipJSON{}}
		for _, m := range res.Messages {
			out.Messages = append(out.Messages, quickSentJSON(m))
		}
		for _, s := range res.Skipped {
			out.Skipped = append(out.Skipped, quickSkipJSON(s))
		}
		writeJSON(w, http.StatusAccepted, out)
		return nil
	}
}
