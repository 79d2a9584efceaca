package gateway

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
)

type campaignJSON struct {
	ID            parley.ID          `json:"id"`
	Name          string             `json:"name"`
	ChannelID     parley.ID          `json:"channel_id"`
	Body          string             `json:"body"`
	Audience      campaigns.Audience `json:"audience"`
	OriginType    string             `json:"origin_type"`
	Status        string             `json:"status"`
	SendAt        *time.Time         `json:"send_at"`
	Schedule      string             `json:"schedule,omitempty"`
	NextRunAt     *time.Time         `json:"next_run_at"`
	ParentID      *parley.ID         `json:"parent_id"`
	RatePerSecond int                `json:"rate_per_second"`
	CreatedBy     parley.ID          `json:"created_by"`
	Counts        campaigns.Counts   `json:"counts"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
}

func toCampaignJSON(c campaigns.Campaign) campaignJSON {
	return campaignJSON{ID: c.ID, Name: c.Name, ChannelID: c.ChannelID, Body: c.Body, Audience: c.Audience, OriginType: c.OriginType,
		Status: string(c.Status), SendAt: c.SendAt, Schedule: c.Schedule, NextRunAt: c.NextRunAt, ParentID: c.ParentID, RatePerSecond: c.RatePerSecond, CreatedBy: c.CreatedBy,
		Counts: c.Counts, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func handleCreateCampaign(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Name          string             `json:"name"`
			ChannelID     *parley.ID         `json:"channel_id"`
			Body          string             `json:"body"`
			Audience      campaigns.Audience `json:"audience"`
			SendAt        *string            `json:"send_at"`
			Schedule      string             `json:"schedule"`
			RatePerSecond *int               `json:"rate_per_second"`
			OriginType    string             `json:"origin_type"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		if err := campaigns.CheckRunner(me); err != nil {
			return err
		}
		draft := campaigns.Draft{Name: in.Name, Body: in.Body, Audience: in.Audience, Schedule: in.Schedule,
			RatePerSecond: in.RatePerSecond, OriginType: in.OriginType}
		if in.ChannelID != nil {
			draft.ChannelID = *in.ChannelID
		}
		var err error
		if draft.SendAt, err = optionalTime("send_at", in.SendAt); err != nil {
			return err
		}
		c, err := draft.Campaign(me, d.Clock.Now())
		if err != nil {
			return err
		}
		if c, err = d.Campaigns.CreateCampaign(r.Context(), c); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toCampaignJSON(c))
		return nil
	}
}

func handleGetCampaign(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		c, err := d.Campaigns.GetCampaign(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toCampaignJSON(c))
		return nil
	}
}

func handleListCampaigns(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		var parent *parley.ID
		if raw := r.URL.Query().Get("parent_id"); raw != "" {
			id, err := parley.ParseID(raw)
			if err != nil {
				return parley.Invalid(map[string]string{"parent_id": "must be a campaign id"})
			}
			parent = &id
		}
		cs, next, err := d.Campaigns.ListCampaigns(r.Context(), currentUser(r).AccountID, parent, page)
		if err != nil {
			return err
		}
		writePage(w, cs, next, toCampaignJSON)
		return nil
	}
}

// handleCampaignAction serves start, pause, resume and cancel.
func handleCampaignAction(d *Deps, action campaigns.Action) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathIDWithoutBody(w, r)
		if err != nil {
			return err
		}
		c, err := campaigns.Act(r.Context(), d.Campaigns, currentUser(r), id, action, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toCampaignJSON(c))
		return nil
	}
}

type recipientJSON struct {
	ID             parley.ID  `json:"id"`
	ContactID      *parley.ID `json:"contact_id"`
	Phone          string     `json:"phone"`
	Status         string     `json:"status"`
	MessageID      *parley.ID `json:"message_id"`
	ConversationID *parley.ID `json:"conversation_id"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func handleListRecipients(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		status := r.URL.Query().Get("status")
		if err := campaigns.CheckRecipientStatus(status); err != nil {
			return err
		}
		rs, next, err := d.Campaigns.ListRecipients(r.Context(), currentUser(r).AccountID, id, campaigns.RecipientStatusesOf(status), page)
		if err != nil {
			return err
		}
		writePage(w, rs, next, func(x campaigns.CampaignRecipient) recipientJSON { return recipientJSON(x) })
		return nil
	}
}
