package conversations_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

func TestParseListQuery(t *testing.T) {
	admin := conversations.User{ID: 1, AccountID: 9, Role: conversations.RoleAdmin}
	viewer := conversations.User{ID: 2, AccountID: 9, Role: conversations.RoleAgent, ViewAllConversations: true}
	agent := conversations.User{ID: 3, AccountID: 9, Role: conversations.RoleAgent}

	tests := []struct {
		name     string
		user     conversations.User
		query    string
		view     conversations.View
		assignee parley.ID
		kind     string // an error of this kind
		field    string // EINVALID naming this field
	}{
		{"admin defaults to all", admin, "", conversations.ViewAll, 0, "", ""},
		{"view-all agent defaults to all", viewer, "", conversations.ViewAll, 0, "", ""},
		{"agent defaults to mine", agent, "", conversations.ViewMine, agent.ID, "", ""},
		{"admin's mine", admin, "view=mine", conversations.ViewMine, admin.ID, "", ""},
		{"agent asks for all", agent, "view=all", "", 0, parley.EFORBIDDEN, ""},
		{"agent asks for unassigned", agent, "view=unassigned", "", 0, parley.EFORBIDDEN, ""},
		{"agent asks for a colleague's", agent, "assignee_id=1", "", 0, parley.EFORBIDDEN, ""},
		{"agent asks for their own", agent, "assignee_id=3", conversations.ViewMine, agent.ID, "", ""},
		{"admin asks for a colleague's", admin, "assignee_id=3", conversations.ViewAll, agent.ID, "", ""},
		{"unknown view", agent, "view=bogus", "", 0, parley.EINVALID, "view"},
		{"unknown priority", admin, "priority=bogus", "", 0, parley.EINVALID, "priority"},
		{"unknown status", admin, "status=new,bogus", "", 0, parley.EINVALID, "status"},
		{"malformed inbox", admin, "inbox_id=x", "", 0, parley.EINVALID, "inbox_id"},
		{"q not text", admin, "q=%00", "", 0, parley.EINVALID, "q"},
		{"malformed tag", admin, "tag_id=x", "", 0, parley.EINVALID, "tag_id"},
		{"unknown tag type", admin, "tag_type=won", "", 0, parley.EINVALID, "tag_type"},
		{"malformed final tag", admin, "final_tag_id=-", "", 0, parley.EINVALID, "final_tag_id"},
		{"unknown final tag type", admin, "final_tag_type=Sale", "", 0, parley.EINVALID, "final_tag_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, view, err := conversations.ParseListQuery(tt.user, q)
			if tt.kind != "" {
				var pe *parley.Error
				if !errors.As(err, &pe) || pe.Kind != tt.kind {
					t.Fatalf("err = %v; want %s", err, tt.kind)
				}
				if tt.field != "" && pe.Fields[tt.field] == "" {
					t.Errorf("err = %v; want it to name %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseListQuery: %v", err)
			}
			if view != tt.view || f.AssigneeID != tt.assignee || f.AccountID != tt.user.AccountID {
				t.Errorf("view %s, assignee %d, account %d; want %s, %d, %d", view, f.AssigneeID, f.AccountID, tt.view, tt.assignee, tt.user.AccountID)
			}
		})
	}

	t.Run("filters", func(t *testing.T) {
		q, _ := url.ParseQuery("view=unassigned&status=new, open&priority=high&inbox_id=7&q=late")
		f, _, err := conversations.ParseListQuery(admin, q)
		if err != nil {
			t.Fatal(err)
		}
		if !f.Unassigned || !slices.Equal(f.Statuses, []conversations.Status{"new", "open"}) || f.Priority != conversations.PriorityHigh ||
			f.InboxID != 7 || f.Query != "late" {
			t.Errorf("filter = %+v", f)
		}
	})
	t.Run("tag filters", func(t *testing.T) {
		q, _ := url.ParseQuery("tag_id=4&tag_type=positive&final_tag_id=5&final_tag_type=sale")
		f, _, err := conversations.ParseListQuery(admin, q)
		if err != nil {
			t.Fatal(err)
		}
		if f.TagID == nil || *f.TagID != 4 || f.TagType != conversations.TagPositive ||
			f.FinalTagID == nil || *f.FinalTagID != 5 || f.FinalTagType != conversations.TagSale {
			t.Errorf("filter = %+v", f)
		}
	})
	t.Run("views offered", func(t *testing.T) {
		if got := conversations.Views(agent); !slices.Equal(got, []conversations.View{conversations.ViewMine}) {
			t.Errorf("an agent is offered %v", got)
		}
		if got := conversations.Views(viewer); len(got) != 3 {
			t.Errorf("a view-all agent is offered %v", got)
		}
	})
}

func TestGlanceUnread(t *testing.T) {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	later := at.Add(time.Minute)
	tests := []struct {
		name        string
		lastInbound *time.Time
		readAt      *time.Time
		want        bool
	}{
		{"never texted in", nil, nil, false},
		{"never opened", &at, nil, true},
		{"opened after the text", &at, &later, false},
		{"opened at the text", &at, &at, false},
		{"a text after it was opened", &later, &at, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conversations.Conversation{LastInboundAt: tt.lastInbound}
			if got := (conversations.Glance{ReadAt: tt.readAt}).Unread(c); got != tt.want {
				t.Errorf("Unread = %v; want %v", got, tt.want)
			}
		})
	}
}
