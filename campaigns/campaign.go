package campaigns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Status is where a campaign is in its life.
type Status string

// Campaign statuses: draft → (scheduled →) sending → completed, with
// paused and cancelled on the way.
const (
	StatusDraft     Status = "draft"
	StatusScheduled Status = "scheduled"
	StatusSending   Status = "sending"
	StatusPaused    Status = "paused"
	StatusCompleted Status = "completed"
	StatusCancelled Status = "cancelled"
)

// OriginTypes are the origin types a campaign may have (the outbound
// report groups its texts by them).
var OriginTypes = map[string]bool{"quick_message": true, "campaign": true, "flow": true, "template": true, "webhook": true}

// Audience says who receives a campaign: contacts, phone numbers, or the
// contacts matching a filter on type and attributes.
type Audience struct {
	ContactIDs []parley.ID     `json:"contact_ids,omitempty"`
	Phones     []string        `json:"phones,omitempty"`
	Filter     *AudienceFilter `json:"filter,omitempty"`
}

// AudienceFilter selects contacts: all given conditions must hold.
type AudienceFilter struct {
	ContactType string         `json:"contact_type,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"` // equals (strings, numbers, booleans)
}

// Campaign is a text sent to an audience, each recipient in their thread.
type Campaign struct {
	ID         parley.ID
	AccountID  parley.ID
	Name       string
	ChannelID  parley.ID
	Body       string
	Audience   Audience
	OriginType string
	Status     Status
	SendAt     *time.Time
	// Schedule is a cron expression (robfig/cron's standard syntax, with
	// an optional CRON_TZ= prefix; UTC otherwise) that makes the campaign
	// recurring: started, it stays scheduled, and each time the schedule
	// fires a run begins — a campaign of its own with ParentID set, its
	// own recipients and counts. NextRunAt is the next fire time while it
	// is scheduled.
	Schedule      string
	ParentID      *parley.ID
	NextRunAt     *time.Time
	RatePerSecond int
	CreatedBy     parley.ID
	Counts        Counts
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Counts are a campaign's live figures, each recipient in one of them
// (counts.go).
type Counts struct {
	Recipients      int `json:"recipients"`
	Queued          int `json:"queued"`
	Sent            int `json:"sent"`
	Delivered       int `json:"delivered"`
	Failed          int `json:"failed"`
	SkippedOptedOut int `json:"skipped_opted_out"`
	// Cancelled recipients were dropped by a cancel before the carrier had
	// their text, so that a cancelled campaign's counts add up too.
	Cancelled int `json:"cancelled"`
}

// MinRunInterval is the shortest time allowed between two runs of a
// recurring campaign: a schedule is for texting people, not for polling.
const MinRunInterval = time.Hour

// scheduleProblem says why a cron schedule cannot run a recurring
// campaign, or "". The words are the API's own: robfig/cron's errors quote
// Go's parse errors and the raw fields.
func scheduleProblem(schedule string, now time.Time) string {
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return cronSyntaxProblem(schedule)
	}
	first := s.Next(now)
	if first.IsZero() {
		return "never fires"
	}
	// Two fires closer than the minimum anywhere in the next week (a
	// schedule may be sparse on some days, dense on others).
	for at, end := first, now.Add(7*24*time.Hour); at.Before(end); {
		next := s.Next(at)
		if next.IsZero() {
			break
		}
		if next.Sub(at) < MinRunInterval {
			return "fires more often than once an hour"
		}
		at = next
	}
	return ""
}

// cronFields are the fields of a standard cron expression, in order, with
// the values each takes.
var cronFields = []struct{ name, values string }{
	{"minute", "0-59"}, {"hour", "0-23"}, {"day-of-month", "1-31"}, {"month", "1-12 or JAN-DEC"}, {"day-of-week", "0-6 or SUN-SAT"},
}

// cronSyntaxProblem names what is wrong in a schedule cron cannot parse:
// its time zone, its number of fields, or the first field cron refuses
// when every other field is "*".
func cronSyntaxProblem(schedule string) string {
	const shape = "must be a cron expression: minute hour day-of-month month day-of-week, optionally after CRON_TZ=Zone, or @hourly, @daily, @weekly or @monthly"
	spec := strings.TrimSpace(schedule)
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		zone, rest, _ := strings.Cut(spec, " ")
		_, name, _ := strings.Cut(zone, "=")
		if _, err := time.LoadLocation(name); err != nil {
			return "must be a cron expression whose CRON_TZ is a time zone such as America/New_York"
		}
		spec = rest
	}
	fields := strings.Fields(spec)
	if len(fields) != len(cronFields) {
		return shape
	}
	for i, f := range cronFields {
		probe := slices.Repeat([]string{"*"}, len(cronFields))
		probe[i] = fields[i]
		if _, err := cron.ParseStandard(strings.Join(probe, " ")); err != nil {
			return fmt.Sprintf("must be a cron expression: its %s field takes %s, or a list, range or step of them", f.name, f.values)
		}
	}
	return shape
}

// Recurring reports whether the campaign runs on a schedule.
func (c Campaign) Recurring() bool { return c.Schedule != "" }

// NextRun is when a recurring campaign's schedule next fires after now,
// not before its send_at.
func (c Campaign) NextRun(now time.Time) (time.Time, error) {
	s, err := cron.ParseStandard(c.Schedule)
	if err != nil {
		return time.Time{}, err
	}
	if c.SendAt != nil && c.SendAt.After(now) {
		now = c.SendAt.Add(-time.Second) // a fire at send_at itself counts
	}
	return s.Next(now), nil
}

// Run is the campaign a recurring campaign's schedule starts at a fire
// time: the same text to the same audience, a campaign of its own.
func (c Campaign) Run(at time.Time) Campaign {
	run := c
	run.ID, run.ParentID, run.Schedule, run.SendAt, run.NextRunAt = 0, &c.ID, "", nil, nil
	run.Name = c.Name + " — " + at.UTC().Format("2006-01-02 15:04 UTC")
	run.Status, run.Counts = StatusSending, Counts{}
	run.CreatedAt, run.UpdatedAt = at, at
	return run
}

// Limits on a campaign.
const (
	DefaultRatePerSecond = 10
	MaxRatePerSecond     = 10_000
	maxAudienceList      = 100_000 // ids or phones inline; larger audiences use a filter
)

// Validate checks a new campaign and parses its template.
func (c *Campaign) Validate(now time.Time) error {
	fields := map[string]string{}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 200 {
		fields["name"] = "is required, at most 200 bytes"
	}
	if c.ChannelID == 0 {
		fields["channel_id"] = "is required"
	}
	reply := conversations.Reply{Body: c.Body}
	if err := reply.Validate(); err != nil || strings.TrimSpace(c.Body) == "" {
		fields["body"] = "is required: text of at most 1600 characters"
	} else if why := fieldsProblem(c.Body); why != "" {
		fields["body"] = why
	}
	a := c.Audience
	switch n := len(a.ContactIDs) + len(a.Phones); {
	case n == 0 && a.Filter == nil:
		fields["audience"] = "name contact_ids, phones or a filter"
	case n > maxAudienceList:
		fields["audience"] = "at most 100000 ids and phones; use a filter for more"
	}
	for i, raw := range a.Phones {
		p, err := conversations.NormalizePhone(raw)
		if err != nil {
			fields["audience.phones"] = "\"" + raw + "\" is not a phone number"
			break
		}
		c.Audience.Phones[i] = p
	}
	if c.OriginType == "" {
		c.OriginType = "campaign"
	}
	if !OriginTypes[c.OriginType] {
		fields["origin_type"] = "must be quick_message, campaign, flow, template or webhook"
	}
	if c.RatePerSecond < 1 || c.RatePerSecond > MaxRatePerSecond {
		fields["rate_per_second"] = fmt.Sprintf("must be from 1 to %d", MaxRatePerSecond)
	}
	if c.SendAt != nil && !c.SendAt.After(now) {
		fields["send_at"] = "must be in the future"
	}
	if c.Schedule != "" {
		if problem := scheduleProblem(c.Schedule, now); problem != "" {
			fields["schedule"] = problem
		}
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// RecipientStatus is where one recipient of a campaign is.
type RecipientStatus string

// Recipient statuses; a queued recipient's delivery is its message's status.
const (
	RecipientPending         RecipientStatus = "pending"
	RecipientQueued          RecipientStatus = "queued"
	RecipientSkippedOptedOut RecipientStatus = "skipped_opted_out"
	RecipientCancelled       RecipientStatus = "cancelled"
)

// recipientStatuses are the statuses a recipient is listed by: its own
// before it is queued, its message's after.
var recipientStatuses = []string{string(RecipientPending), string(RecipientSkippedOptedOut), string(RecipientCancelled),
	string(conversations.MessageQueued), string(conversations.MessageSending), string(conversations.MessageSent),
	string(conversations.MessageDelivered), string(conversations.MessageUndelivered), string(conversations.MessageFailed),
	string(conversations.MessageUnknown)}

// CountNames are the counts a campaign shows, in the order it shows them.
// A recipients filter by one of these names lists whom that count holds.
var CountNames = []string{"queued", "sent", "delivered", "failed", string(RecipientSkippedOptedOut), string(RecipientCancelled)}

// CheckRecipientStatus refuses a recipients filter no recipient can match,
// naming the statuses that can.
func CheckRecipientStatus(s string) error {
	if s == "" || slices.Contains(recipientStatuses, s) {
		return nil
	}
	return parley.Invalid(map[string]string{"status": "must be one of " + strings.Join(recipientStatuses, ", ")})
}

// RecipientStatusesOf are the statuses a recipients filter lists: those
// the count of that name holds (queued: pending ones too; sent: those
// being handed over or left unknown; failed: undelivered ones too), so
// that the list and the count agree; otherwise the one status named.
// None for no filter.
func RecipientStatusesOf(filter string) []string {
	if filter == "" {
		return nil
	}
	var c Counts
	count := c.named(filter)
	if count == nil {
		return []string{filter}
	}
	var out []string
	for _, s := range recipientStatuses {
		if c.bucket(listedState(s)) == count {
			out = append(out, s)
		}
	}
	return out
}

// listedState is the state of a recipient listed with status s: its own
// status before it is queued, its text's after.
func listedState(s string) RecipientState {
	switch r := RecipientStatus(s); r {
	case RecipientPending, RecipientSkippedOptedOut, RecipientCancelled:
		return RecipientState{Recipient: r}
	}
	return RecipientState{Recipient: RecipientQueued, Message: conversations.MessageStatus(s)}
}

// CampaignRecipient is one recipient row.
type CampaignRecipient struct {
	ID             parley.ID
	ContactID      *parley.ID
	Phone          string
	Status         string // pending, skipped_opted_out, cancelled, or the message's status once queued
	MessageID      *parley.ID
	ConversationID *parley.ID
	UpdatedAt      time.Time
}

// CampaignStore persists campaigns and runs them.
type CampaignStore interface {
	CreateCampaign(ctx context.Context, c Campaign) (Campaign, error)
	GetCampaign(ctx context.Context, accountID, id parley.ID) (Campaign, error)
	// ListCampaigns lists the account's campaigns, newest first; with a
	// parent, only that recurring campaign's runs.
	ListCampaigns(ctx context.Context, accountID parley.ID, parent *parley.ID, page parley.Page) ([]Campaign, string, error)
	// TransitionCampaign applies an action; ECONFLICT (code
	// campaign_state) when the action is not allowed from its status.
	TransitionCampaign(ctx context.Context, accountID, id parley.ID, action Action, at time.Time) (Campaign, error)
	ListRecipients(ctx context.Context, accountID, campaignID parley.ID, statuses []string, page parley.Page) ([]CampaignRecipient, string, error)
	// AdvanceCampaigns does one tick of work: scheduled campaigns that are
	// due start, sending ones expand their audience by a batch and queue up
	// to their rate of texts, finished ones complete. It reports how many
	// texts it queued.
	AdvanceCampaigns(ctx context.Context, now time.Time, tick time.Duration) (int, error)
}

// Action is what staff do to a campaign.
type Action string

// Campaign actions.
const (
	ActionStart  Action = "start"
	ActionPause  Action = "pause"
	ActionResume Action = "resume"
	ActionCancel Action = "cancel"
)

// Next returns the status an action leads to from a status, false when it
// is not allowed. Start and resume lead to scheduled when the campaign
// waits (send_at still ahead, or a recurring schedule), to sending
// otherwise.
func (a Action) Next(from Status, waits bool) (Status, bool) {
	run := StatusSending
	if waits {
		run = StatusScheduled
	}
	switch {
	case a == ActionStart && from == StatusDraft:
		return run, true
	case a == ActionPause && (from == StatusSending || from == StatusScheduled):
		return StatusPaused, true
	case a == ActionResume && from == StatusPaused:
		return run, true
	case a == ActionCancel && from != StatusCompleted && from != StatusCancelled:
		return StatusCancelled, true
	}
	return "", false
}

// CheckRunner refuses a user who may not create campaigns or act on them
// (start, pause, resume, cancel). A campaign texts contacts whose
// conversations nobody, or a colleague, has, so by the sending rule
// (conversations.SendRefusal) it is for admins and users who see every
// conversation; stopping one is a decision about those texts too.
func CheckRunner(u conversations.User) error {
	if !u.CanViewAll() {
		return parley.Errorf(parley.EFORBIDDEN, "only admins and users who see all conversations create and run campaigns")
	}
	return nil
}

// Sends reports whether the action makes a campaign send (start, resume).
func (a Action) Sends() bool { return a == ActionStart || a == ActionResume }

// Draft is a new campaign as staff ask for it, through the API's JSON body
// or the web inbox's form: each parses its own input into one, and Draft
// makes the campaign by the same rules.
type Draft struct {
	Name          string
	ChannelID     parley.ID
	Body          string
	Audience      Audience
	SendAt        *time.Time
	Schedule      string
	RatePerSecond *int // nil: DefaultRatePerSecond; 0 is refused like any rate below 1
	OriginType    string
}

// Campaign is the draft as a new campaign of by's account at now, checked:
// EFORBIDDEN unless by may run campaigns (CheckRunner), EINVALID for what
// Validate refuses.
func (d Draft) Campaign(by conversations.User, now time.Time) (Campaign, error) {
	if err := CheckRunner(by); err != nil {
		return Campaign{}, err
	}
	c := Campaign{AccountID: by.AccountID, Name: d.Name, ChannelID: d.ChannelID, Body: d.Body, Audience: d.Audience,
		Schedule: d.Schedule, RatePerSecond: DefaultRatePerSecond, OriginType: d.OriginType, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now}
	if d.RatePerSecond != nil {
		c.RatePerSecond = *d.RatePerSecond
	}
	if d.SendAt != nil {
		at := d.SendAt.UTC().Truncate(time.Millisecond)
		c.SendAt = &at
	}
	if err := c.Validate(now); err != nil {
		return Campaign{}, err
	}
	return c, nil
}

// Preview is body as one recipient would receive it, and its segments:
// what a person checks before creating a campaign. EINVALID (on "body")
// when the template does not parse.
func Preview(body string, r Recipient) (string, conversations.Segmentation, error) {
	if strings.TrimSpace(body) == "" {
		return "", conversations.Segmentation{}, parley.Invalid(map[string]string{"body": "is required"})
	}
	t, err := ParseTemplate(body)
	if err != nil {
		return "", conversations.Segmentation{}, err
	}
	text, seg := t.Text(r)
	return text, seg, nil
}

// Act applies an action to a campaign for by: EFORBIDDEN unless by may run
// campaigns (CheckRunner); ECONFLICT (campaign_state) when the campaign's
// status does not allow it.
func Act(ctx context.Context, store CampaignStore, by conversations.User, id parley.ID, a Action, now time.Time) (Campaign, error) {
	if err := CheckRunner(by); err != nil {
		return Campaign{}, err
	}
	return store.TransitionCampaign(ctx, by.AccountID, id, a, now)
}
