package main

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

// TestConcurrentQuickMessagesShareOneThread: twenty quick messages to the
// same new phone at once are all accepted, on each database, and land in
// one conversation of one contact.
func TestConcurrentQuickMessagesShareOneThread(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			ch := e.setupChannel(nil)
			const senders, phone = 20, "+14155550901"
			answers := make([]response, senders)
			var wg sync.WaitGroup
			for i := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": fmt.Sprintf("Note %d", i), "to": []string{phone}})
				}()
			}
			wg.Wait()
			threads := map[any]bool{}
			for i, r := range answers {
				if r.Status != 202 {
					t.Fatalf("quick message %d answered %d: %s", i, r.Status, r.Body)
				}
				sent := r.JSON()["messages"].([]any)
				if len(sent) != 1 {
					t.Fatalf("quick message %d: %s, want its text queued", i, r.Body)
				}
				threads[sent[0].(map[string]any)["conversation_id"]] = true
			}
			if len(threads) != 1 {
				t.Errorf("the texts went to %d conversations, want one", len(threads))
			}
			convs := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)
			if len(convs) != 1 {
				t.Fatalf("%d conversations with the phone, want one", len(convs))
			}
			if contacts := e.must(200, e.admin("GET", "/v1/contacts", nil))["data"].([]any); len(contacts) != 1 {
				t.Errorf("%d contacts, want one for the phone", len(contacts))
			}
			e.eventually("every text at the phone", func() bool { return len(e.received(phone)) == senders })
		})
	}
}

// TestCampaignInputIsCheckedInPlainWords: a campaign naming another
// account's contact or no contact at all is a 422 naming
// audience.contact_ids; a bad schedule is a 422 in plain words; a
// template's fallback written with spaces reads as intended.
func TestCampaignInputIsCheckedInPlainWords(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	ours := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"phones": []string{"+14155550911"}}))

	acme := e.staffSecondAccount()
	theirs := e.must(201, e.call(acme, "POST", "/v1/contacts", map[string]any{"name": "Not yours", "phones": []string{"+14155550912"}}))

	campaign := func(extra map[string]any) map[string]any {
		body := map[string]any{"name": "Spring", "channel_id": ch["id"], "body": "Hi {{ first_name | there }}!",
			"audience": map[string]any{"contact_ids": []any{ours["id"]}}}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}
	for name, ids := range map[string][]any{
		"another account's contact": {ours["id"], theirs["id"]},
		"no such contact":           {ours["id"], "987654321"},
	} {
		t.Run(name, func(t *testing.T) {
			wantAPIError(t, e.admin("POST", "/v1/campaigns", campaign(map[string]any{"audience": map[string]any{"contact_ids": ids}})),
				422, "validation_failed", "audience.contact_ids")
		})
	}
	t.Run("a bad schedule", func(t *testing.T) {
		r := e.admin("POST", "/v1/campaigns", campaign(map[string]any{"schedule": "0 25 * * *"}))
		wantAPIError(t, r, 422, "validation_failed", "schedule")
		got := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)["schedule"]
		if want := "must be a cron expression: its hour field takes 0-23, or a list, range or step of them"; got != want {
			t.Errorf("schedule error %q, want %q", got, want)
		}
	})
	if n := len(e.must(200, e.admin("GET", "/v1/campaigns", nil))["data"].([]any)); n != 0 {
		t.Fatalf("%d campaigns stored from refused requests, want none", n)
	}

	c := e.must(201, e.admin("POST", "/v1/campaigns", campaign(nil)))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	e.eventually("the campaign's text", func() bool { return len(e.received("+14155550911")) == 1 })
	if got := e.received("+14155550911")[0]; got != "Hi there!" {
		t.Errorf("an unnamed contact received %q, want %q", got, "Hi there!")
	}
}
