package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A text that reads like "stop texting me" flags its conversation through
// the real binary: the API shows the flag with the text that raised it
// and lists flagged conversations; in the browser the inbox's filter finds
// it and the thread's banner records the opt-out in one click, the text
// its evidence in the consent log; a dismissal opts nobody out; a flag a
// day unanswered reaches the admins of an unassigned conversation.
func TestRevocationFlags(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	e := boot(t, "", withClock(clock))
	e.setupChannel(nil)
	admin := e.adminMember()
	const ann, ben, cal = "+14155550931", "+14155550932", "+14155550933"

	e.text(ann, "Hi, I don't want any more texts from you please")
	e.text(ann, "ok?") // the flag stays with its first text
	conv := e.conversationOf(ann)
	flag, _ := conv["revocation_flag"].(map[string]any)
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	first := msgs[0].(map[string]any)
	if flag == nil || flag["message_id"] != first["id"] || flag["rule"] == "" || conv["revocation_flagged_at"] == nil {
		t.Fatalf("revocation_flag = %v; want the first text %v with its rule", flag, first["id"])
	}
	e.text(ben, "Can you stop by at 5?")
	listed := e.must(200, e.admin("GET", "/v1/conversations?revocation_flagged=true", nil))["data"].([]any)
	if len(listed) != 1 || listed[0].(map[string]any)["id"] != conv["id"] {
		t.Errorf("revocation_flagged=true lists %v; want Ann's conversation alone", listed)
	}
	wantAPIError(t, e.admin("GET", "/v1/conversations?revocation_flagged=maybe", nil), 422, "validation_failed", "revocation_flagged")

	// In the browser: the filter, the badge, the banner, one click.
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.open("/inbox")
	b.js(`document.querySelector("details.list-more").open = true`)
	b.click("#list-revocation") // submits the filter by itself
	b.waitText(".conv-list, main", "May want no more texts")
	if got := eval[string](b, "location.search"); !strings.Contains(got, "revocation_flagged=true") {
		t.Errorf("the filter's address %q", got)
	}
	b.open(fmt.Sprintf("/inbox/conversations/%s", conv["id"]))
	b.waitLive()
	b.waitText("#revocation-banner", "may want no more texts")
	b.waitText("#revocation-banner", "want any more texts") // the reason quotes the text
	b.click("#record-opt-out")
	b.waitText("#optout-banner", "Opted out")
	b.waitGone("main", "may want no more texts")
	b.waitText(".thread-scroll", "recorded the opt-out the flagged text asked for")
	events := e.must(200, e.admin("GET", "/v1/optouts/"+url.PathEscape(ann)+"/events", nil))["data"].([]any)
	last := events[len(events)-1].(map[string]any)
	if last["action"] != "opt_out" || last["source"] != "staff" || last["message_id"] != first["id"] || last["user_id"] != admin.ID {
		t.Errorf("the consent log's entry %v; want a staff opt-out by %v with the flagged text %v as evidence", last, admin.ID, first["id"])
	}
	if c := e.conversationOf(ann); c["revocation_flag"] != nil || c["opted_out"] != true {
		t.Errorf("after recording: flag %v, opted out %v", c["revocation_flag"], c["opted_out"])
	}
	wantAPIError(t, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/record-opt-out", conv["id"]), nil), 409, "no_revocation_flag")

	// Dismissed: the flag goes, nobody is opted out.
	e.text(ben, "leave me alone")
	benConv := e.conversationOf(ben)
	got := e.must(200, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/dismiss-revocation", benConv["id"]), nil))
	if got["revocation_flag"] != nil || got["opted_out"] != false {
		t.Errorf("dismissed: %v", got)
	}

	// A day unanswered: the admins of an unassigned conversation are told.
	e.text(cal, "remove me from your list")
	calConv := e.conversationOf(cal)
	clock.Advance(25 * time.Hour)
	deadline := time.Now().Add(20 * time.Second) // the reminder runs every 5 s
	for {
		ns := e.must(200, e.admin("GET", "/v1/notifications?limit=50", nil))["data"].([]any)
		found := 0
		for _, n := range ns {
			if n := n.(map[string]any); n["kind"] == "revocation_unanswered" {
				if n["conversation_id"] != calConv["id"] {
					t.Fatalf("reminded of %v; want only Cal's conversation %v", n["conversation_id"], calConv["id"])
				}
				found++
			}
		}
		if found == 1 {
			break
		}
		if found > 1 || time.Now().After(deadline) {
			t.Fatalf("%d revocation_unanswered notifications; want exactly one", found)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.open("/notifications")
	b.waitText("main", "may want no more texts: unanswered for a day")
}
