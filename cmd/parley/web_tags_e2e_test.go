package main

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store/storetest"
)

// TestWebTags works tags in the browser on both databases: the admin
// creates a Sale tag in Settings → Tags (and is refused retyping it once
// used), tags a thread and removes the tag; with a closing tag required,
// a plain Resolve is refused with what to do; resolving with the Sale tag
// shows "Closed with: Sale", and the inbox filtered by final tagging type
// Sale lists that thread only. Closing with a tag works the same way.
func TestWebTags(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			admin := e.adminMember()
			const sold, other = "+14155550811", "+14155550812"
			e.text(sold, "I'll take the blue one")
			e.text(other, "Just looking, thanks")
			conv := e.conversationOf(sold)["id"].(string)
			users, err := e.main.DB.UsersByEmail(ctx, admin.Email)
			if err != nil || len(users) != 1 {
				t.Fatalf("the admin: %v", err)
			}
			account := users[0].User.AccountID

			a := e.browser()
			a.signIn(admin.Email, admin.Password)

			// Settings → Tags: create Sale, of the Sale type.
			a.open("/settings/tags")
			a.input("#new-tag-name", "Sale")
			a.choose("#new-tag-type", "sale")
			a.js(`document.getElementById("new-tag-form").requestSubmit()`)
			a.waitText("#tags-table", "Active")
			tags, err := e.main.DB.ListTags(ctx, account, true)
			if err != nil || len(tags) != 1 || tags[0].Name != "Sale" || tags[0].Type != conversations.TagSale {
				t.Fatalf("after creating, the account's tags are %+v (%v)", tags, err)
			}
			sale := tags[0].ID.String()

			// Tag the thread, then remove the tag.
			a.open("/inbox/conversations/" + conv)
			a.waitLive()
			a.choose("#add-tag", sale)
			a.js(`document.getElementById("add-tag-form").requestSubmit()`)
			a.waitText("#thread-tags", "Sale")
			a.waitText(".thread-scroll", "tagged it Sale")
			a.click(`#thread-tags button.tag-remove`)
			a.waitText("#thread-tags", "No tags")
			a.waitText(".thread-scroll", "removed the tag Sale")

			// Used now, its type is fixed: the refusal says so.
			a.open("/settings/tags")
			a.choose("#tag-"+sale+"-type", "positive")
			a.js(`document.getElementById("tag-` + sale + `-edit").requestSubmit()`)
			a.waitText("#alert", "its type stays Sale")

			// Require a closing tag; a plain Resolve is refused.
			a.js(`(() => { const c = document.getElementById("require-closing-tag"); if (!c.checked) c.click(); })()`)
			a.js(`document.getElementById("closing-tag-form").requestSubmit()`)
			e.eventually("the closing-tag setting saved", func() bool {
				st, err := e.main.DB.GetSettings(ctx, account)
				return err == nil && st.RequireClosingTag
			})
			a.open("/inbox/conversations/" + conv)
			a.waitLive()
			a.click(`.thread-actions > form[action$="/resolve"] button.primary`)
			a.waitText("#alert", "closes conversations with a tag")
			if got := a.text("#thread-status"); got != "Open" && got != "New" {
				t.Fatalf("after the refused resolve, the thread is %q", got)
			}

			// Resolve with the Sale tag, in one step.
			a.click("#close-with-tag summary")
			a.choose("#closing-tag", sale)
			a.click("#resolve-with-tag")
			a.waitText("#thread-status", "Resolved")
			a.waitText("#details-final-tag", "Sale")
			if got := a.text(".details"); !strings.Contains(got, "Closed with") {
				t.Fatalf("the details read %q, without what it closed with", got)
			}

			// The inbox, filtered by final tagging type Sale: that thread
			// only, with its tag chip.
			a.open("/inbox")
			waitListRows(a, other, sold)
			a.click(".list-more summary")
			a.choose("#list-final-tag-type", "sale")
			waitListRows(a, sold)
			if got := eval[string](a, "location.search"); !strings.Contains(got, "final_tag_type=sale") {
				t.Errorf("the list's URL is %q, without the filter", got)
			}
			if got := a.text(".convs .conv"); !strings.Contains(got, "Sale") {
				t.Errorf("the row reads %q, without its tag chip", got)
			}

			// Close, with a tag, in one step too.
			otherConv := e.conversationOf(other)["id"].(string)
			a.open("/inbox/conversations/" + otherConv)
			a.waitLive()
			a.click("#close-with-tag summary")
			a.choose("#closing-tag", sale)
			a.click("#close-with-tag-button")
			a.waitText("#thread-status", "Closed")
			a.waitText("#details-final-tag", "Sale")

			// An ended thread ends again with another tag (the API's
			// re-end): the resolved one stays resolved, closed with Lost.
			lost := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Lost", "type": "negative"}))["id"].(string)
			a.open("/inbox/conversations/" + conv)
			a.waitLive()
			a.waitText("#close-with-tag summary", "Resolve again with tag")
			a.click("#close-with-tag summary")
			a.choose("#closing-tag", lost)
			a.click("#resolve-with-tag")
			a.waitText("#details-final-tag", "Lost")
			if got := a.text("#thread-status"); got != "Resolved" {
				t.Fatalf("after resolving again with a tag, the thread is %q", got)
			}
		})
	}
}
