package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/storetest"
)

// tagIDs returns the ids of a conversation's tags.
func tagIDs(conv map[string]any) []string {
	ids := []string{}
	tags, _ := conv["tags"].([]any)
	for _, t := range tags {
		id, _ := t.(map[string]any)["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// finalTagID is the id of a conversation's or an episode's final tag, ""
// for none.
func finalTagID(v map[string]any) string {
	final, _ := v["final_tag"].(map[string]any)
	id, _ := final["id"].(string)
	return id
}

// conversationIDs lists the ids a conversation list query answers.
func (e *env) conversationIDs(query string) []string {
	e.t.Helper()
	ids := []string{}
	for _, c := range e.list("/v1/conversations?" + query) {
		ids = append(ids, c["id"].(string))
	}
	return ids
}

// An admin defines tags, staff tag threads and close them with a tag;
// each closing keeps its final tag though the thread reopens and closes
// again with another. Every answer is checked against openapi.json by
// the harness.
func TestTagsThroughTheAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			me := e.must(200, e.admin("GET", "/v1/me", nil))
			conv := e.staffThread("+14155550100", "Did the offer arrive?")
			convID := conv["id"].(string)
			if ids := tagIDs(conv); len(ids) != 0 || conv["final_tag"] != nil {
				t.Errorf("a new thread has tags %v and final tag %v, want none", conv["tags"], conv["final_tag"])
			}
			other := e.staffThread("+14155550101", "Yes, I'll take it")
			otherID := other["id"].(string)
			_, annToken, _ := e.addStaff("ann@example.com", "agent", false)
			stream := e.openStream(e.token, "", "")

			// The admin defines the tags; names are unique, agents only read.
			sale := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Sold", "type": "sale"}))
			saleID := sale["id"].(string)
			if sale["name"] != "Sold" || sale["type"] != "sale" || sale["archived"] != false {
				t.Errorf("the new tag = %v", sale)
			}
			followUp := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Call back", "type": "follow_up"}))
			followUpID := followUp["id"].(string)
			negative := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Not interested", "type": "negative"}))
			negativeID := negative["id"].(string)
			wantAPIError(t, e.admin("POST", "/v1/tags", map[string]any{"name": "Sold", "type": "positive"}), 409, "tag_name_taken")
			wantAPIError(t, e.admin("POST", "/v1/tags", map[string]any{"name": "Won", "type": "won"}), 422, "", "type")
			wantAPIError(t, e.call(annToken, "POST", "/v1/tags", map[string]any{"name": "Mine", "type": "other"}), 403, "")
			if res := e.call(annToken, "GET", "/v1/tags", nil); res.Status != 200 || len(res.Data()) != 3 {
				t.Errorf("Ann lists the tags: %d %s, want the 3", res.Status, res.Body)
			}
			// Paged like every list: by name, a tag a page.
			var names []any
			for _, p := range e.allPages(e.token, "/v1/tags", 1) {
				for _, row := range p.Data {
					names = append(names, row["name"])
				}
			}
			if fmt.Sprint(names) != "[Call back Not interested Sold]" {
				t.Errorf("the tags a page at a time: %v", names)
			}
			wantAPIError(t, e.admin("GET", "/v1/tags?limit=0", nil), 422, "", "limit")
			for _, bad := range []string{"%25%25", "AAAA"} { // not base64; base64 of no key this list made
				wantAPIError(t, e.admin("GET", "/v1/tags?cursor="+bad, nil), 422, "", "cursor")
			}
			if got := e.must(200, e.admin("GET", "/v1/tags/"+saleID, nil)); !sameJSON(got, sale) {
				t.Errorf("GET the tag = %v, want %v", got, sale)
			}

			// Tagging and untagging are events; the stream shows the tag.
			tagged := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/tags", map[string]any{"tag_id": followUpID}))
			if ids := tagIDs(tagged); len(ids) != 1 || ids[0] != followUpID {
				t.Fatalf("tagged: tags %v, want [%s]", tagged["tags"], followUpID)
			}
			again := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/tags", map[string]any{"tag_id": followUpID}))
			if ids := tagIDs(again); len(ids) != 1 {
				t.Errorf("tagged twice: tags %v, want it once", again["tags"])
			}
			stream.until("conversation.updated with the tag", func(ev sseEvent) bool {
				d := ev.JSON()
				ids := tagIDs(d)
				return ev.Type == "conversation.updated" && d["id"] == convID && len(ids) == 1 && ids[0] == followUpID
			})
			if got := tagIDs(e.staffConv(convID)); len(got) != 1 || got[0] != followUpID {
				t.Errorf("GET the thread: tags %v, want [%s]", got, followUpID)
			}
			untagged := e.must(200, e.admin("DELETE", "/v1/conversations/"+convID+"/tags/"+followUpID, nil))
			if ids := tagIDs(untagged); len(ids) != 0 {
				t.Errorf("untagged: tags %v, want none", untagged["tags"])
			}
			log := e.staffEvents(convID)
			added, removed := staffEventsOf(log, "tag_added"), staffEventsOf(log, "tag_removed")
			if len(added) != 1 || len(removed) != 1 || staffEventData(added[0])["tag_id"] != followUpID ||
				staffEventData(removed[0])["tag_id"] != followUpID || added[0]["actor_id"] != me["id"] {
				t.Errorf("the thread's log has tag_added %v and tag_removed %v, want one each of Call back by the admin", added, removed)
			}

			// Resolving with a sale tag makes it the final tag.
			resolved := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/resolve", map[string]any{"tag_id": saleID}))
			if resolved["status"] != "resolved" || finalTagID(resolved) != saleID || len(tagIDs(resolved)) != 1 {
				t.Errorf("resolved with Sold: %v", resolved)
			}
			if added := staffEventsOf(e.staffEvents(convID), "tag_added"); len(added) != 2 || staffEventData(added[1])["tag_id"] != saleID {
				t.Errorf("tag_added events after resolving with Sold = %v, want Sold's too", added)
			}
			// Reopened, tagged Not interested, closed: the thread's final tag
			// is the new one, the first episode keeps Sold.
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/reopen", nil))
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/tags", map[string]any{"tag_id": negativeID}))
			closed := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/close", nil))
			if closed["status"] != "closed" || finalTagID(closed) != negativeID {
				t.Errorf("closed after the reopen: final tag %v, want Not interested", closed["final_tag"])
			}
			eps := e.list("/v1/conversations/" + convID + "/episodes")
			if len(eps) != 2 || finalTagID(eps[0]) != saleID || eps[0]["closed_as"] != "resolved" ||
				finalTagID(eps[1]) != negativeID || eps[1]["closed_as"] != "closed" {
				t.Errorf("episodes = %v, want resolved with Sold then closed with Not interested", eps)
			}
			// The other thread closes with Sold, in one step.
			e.must(200, e.admin("POST", "/v1/conversations/"+otherID+"/close", map[string]any{"tag_id": saleID}))

			// The list filters by the tags threads have now and by the
			// final tag of their latest closing.
			for query, want := range map[string][]string{
				"tag_id=" + saleID:                  {otherID, convID},
				"tag_id=" + negativeID:              {convID},
				"tag_type=follow_up":                {},
				"tag_type=negative":                 {convID},
				"final_tag_id=" + saleID:            {otherID},
				"final_tag_id=" + negativeID:        {convID},
				"final_tag_type=sale":               {otherID},
				"final_tag_type=negative":           {convID},
				"final_tag_type=positive":           {},
				"tag_type=sale&final_tag_type=sale": {otherID},
			} {
				if got := e.conversationIDs(query); !sameJSON(got, want) {
					t.Errorf("?%s = %v, want %v", query, got, want)
				}
			}
			wantAPIError(t, e.admin("GET", "/v1/conversations?tag_type=won", nil), 422, "", "tag_type")
			wantAPIError(t, e.admin("GET", "/v1/conversations?final_tag_type=won", nil), 422, "", "final_tag_type")

			// A type is fixed once the tag has been applied; archived tags
			// are no longer listed or applied.
			wantAPIError(t, e.admin("PATCH", "/v1/tags/"+saleID, map[string]any{"type": "positive"}), 409, "tag_type_fixed")
			maybe := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Maybe", "type": "other"}))
			if got := e.must(200, e.admin("PATCH", "/v1/tags/"+maybe["id"].(string), map[string]any{"type": "positive", "name": "Warm"})); got["type"] != "positive" || got["name"] != "Warm" {
				t.Errorf("an unused tag retyped and renamed = %v", got)
			}
			wantAPIError(t, e.admin("PATCH", "/v1/tags/"+saleID, map[string]any{"name": "Call back"}), 409, "tag_name_taken")
			wantAPIError(t, e.call(annToken, "PATCH", "/v1/tags/"+saleID, map[string]any{"archived": true}), 403, "")
			if got := e.must(200, e.admin("PATCH", "/v1/tags/"+followUpID, map[string]any{"archived": true})); got["archived"] != true {
				t.Errorf("archived = %v", got)
			}
			if rows := e.list("/v1/tags"); len(rows) != 3 {
				t.Errorf("tags without the archived = %v, want 3", rows)
			}
			if rows := e.list("/v1/tags?archived=true"); len(rows) != 4 {
				t.Errorf("tags with the archived = %v, want 4", rows)
			}
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+otherID+"/tags", map[string]any{"tag_id": followUpID}), 422, "", "tag_id")

			// With require_closing_tag, an untagged thread resolves only
			// with a tag.
			third := e.staffThread("+14155550102", "Hello?")
			thirdID := third["id"].(string)
			if s := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"require_closing_tag": true})); s["require_closing_tag"] != true {
				t.Errorf("settings = %v, want require_closing_tag", s)
			}
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+thirdID+"/resolve", nil), 422, "", "tag_id")
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+thirdID+"/close", "{}"), 422, "", "tag_id")
			if got := e.staffConv(thirdID); got["status"] == "resolved" || got["status"] == "closed" {
				t.Errorf("a refused resolve changed the status to %v", got["status"])
			}
			if got := e.must(200, e.admin("POST", "/v1/conversations/"+thirdID+"/resolve", map[string]any{"tag_id": maybe["id"]})); finalTagID(got) != maybe["id"] {
				t.Errorf("resolved with Warm: final tag %v", got["final_tag"])
			}

			// An agent who may not see the thread is refused there, as on
			// the thread itself.
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/v1/conversations/" + convID + "/tags", map[string]any{"tag_id": saleID}},
				{"DELETE", "/v1/conversations/" + convID + "/tags/" + saleID, nil},
				{"GET", "/v1/conversations/" + convID + "/episodes", nil},
			} {
				wantAPIError(t, e.call(annToken, c.method, c.path, c.body), 403, "forbidden")
			}

			// Another account's tags are not found, in either direction.
			acme := e.staffSecondAccount()
			acmeTag := e.must(201, e.call(acme, "POST", "/v1/tags", map[string]any{"name": "Sold", "type": "sale"}))
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+otherID+"/tags", map[string]any{"tag_id": acmeTag["id"]}), 404, "", "tag_id")
			wantAPIError(t, e.call(acme, "GET", "/v1/tags/"+saleID, nil), 404, "not_found")
			wantAPIError(t, e.call(acme, "PATCH", "/v1/tags/"+saleID, map[string]any{"archived": true}), 404, "not_found")
		})
	}
}

// A thread texted after it was resolved, then resolved again with a sale
// tag, ends again: the stretch since the last ending is an episode of
// its own with that final tag, and the text sent in it counts as a sale
// in the outbound report. Closing it then with another tag adds another,
// and the sale stays the text's.
func TestEndingAnEndedThreadAgain(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			ch := e.setupChannel(nil)
			saleID := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Sale", "type": "sale"}))["id"].(string)
			laterID := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Call later", "type": "follow_up"}))["id"].(string)
			const phone = "+14155550170"
			convID := e.staffThread(phone, "hi there")["id"].(string)
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/resolve", nil))
			e.must(202, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Special offer", "to": []string{phone}}))
			now := time.Now().UTC()
			audit := fmt.Sprintf("/v1/reports/outbound/audit?from=%s&to=%s", now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
			e.eventually("the quick message's send", func() bool { return len(e.list(audit)) == 1 })
			if got := e.staffConv(convID); got["status"] != "resolved" {
				t.Fatalf("after the quick message the thread is %v, want still resolved", got["status"])
			}

			again := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/resolve", map[string]any{"tag_id": saleID}))
			if again["status"] != "resolved" || finalTagID(again) != saleID {
				t.Errorf("resolved again with Sale: status %v, final tag %v; want resolved with Sale", again["status"], again["final_tag"])
			}
			if rows := e.list(audit); len(rows) != 1 || rows[0]["sale"] != true {
				t.Errorf("the send's audit row after the sale = %v, want a sale", rows)
			}
			// The ending is in the thread's log; the same again records nothing.
			changes := staffEventsOf(e.staffEvents(convID), "status_changed")
			if last := staffEventData(changes[len(changes)-1]); last["from"] != "resolved" || last["to"] != "resolved" || last["final_tag_id"] != saleID {
				t.Errorf("the last status change = %v, want resolved again with Sale", last)
			}
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/resolve", map[string]any{"tag_id": saleID}))
			if n := len(staffEventsOf(e.staffEvents(convID), "status_changed")); n != len(changes) {
				t.Errorf("resolving again with the same tag logged %d status changes, want %d", n, len(changes))
			}
			closed := e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/close", map[string]any{"tag_id": laterID}))
			if closed["status"] != "closed" || finalTagID(closed) != laterID {
				t.Errorf("closed with Call later: status %v, final tag %v", closed["status"], closed["final_tag"])
			}
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/close", nil)) // the same again: nothing new
			eps := e.list("/v1/conversations/" + convID + "/episodes")
			if len(eps) != 3 || finalTagID(eps[0]) != "" || finalTagID(eps[1]) != saleID || eps[1]["closed_as"] != "resolved" ||
				finalTagID(eps[2]) != laterID || eps[2]["closed_as"] != "closed" {
				t.Errorf("episodes = %v; want untagged, then resolved with Sale, then closed with Call later", eps)
			}
			if rows := e.list(audit); len(rows) != 1 || rows[0]["sale"] != true {
				t.Errorf("the send's audit row after the close = %v, want still a sale", rows)
			}
			if got := e.conversationIDs("final_tag_id=" + laterID); !sameJSON(got, []string{convID}) {
				t.Errorf("?final_tag_id=Call later = %v, want the thread", got)
			}
		})
	}
}
