package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebScreenshots takes the README's pictures of the web inbox into the
// folder $PARLEY_SCREENSHOTS names (`make screenshots`); without it there
// is nothing to take. Each picture waits for what it shows, so a screen
// that broke fails here as it would in its own test.
func TestWebScreenshots(t *testing.T) {
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PARLEY_SCREENSHOTS to a folder to take the README's screenshots (make screenshots)")
	}
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ann := e.staff("Ann Agent", "agent", false)

	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Grace Hopper", "phones": []string{"+14155550111"}}))
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Ada Lovelace", "phones": []string{"+14155550112"}}))
	e.text("+14155550113", "Do you deliver on Saturdays?")
	e.text("+14155550112", "My invoice shows the wrong address, can you fix it?")
	e.text("+14155550114", "STOP")
	e.text("+14155550111", "Hi! Is the 3pm slot on Friday still free?")
	grace := e.conversationOf("+14155550111")["id"].(string)
	ada := e.conversationOf("+14155550112")["id"].(string)
	e.must(200, e.admin("POST", "/v1/conversations/"+ada+"/assign", map[string]any{"assignee_id": ann.ID}))
	e.must(201, e.admin("POST", "/v1/conversations/"+ada+"/notes", map[string]any{"body": "Billing address changed last week: check the CRM."}))
	e.must(202, e.admin("POST", "/v1/conversations/"+grace+"/messages", map[string]any{"body": "Hi Grace, it is! Shall I book it for you?"}))
	e.eventually("the reply delivered", func() bool { return len(e.received("+14155550111")) == 1 })
	e.text("+14155550111", "Yes please, thank you!")

	b := e.browser()
	b.do(chromedp.EmulateViewport(1280, 800))
	b.signIn(admin.Email, admin.Password)
	shoot := func(name, path, waitFor string) {
		t.Helper()
		b.open(path)
		b.waitText("main", waitFor)
		time.Sleep(300 * time.Millisecond) // the thread scrolls to its newest text
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shoot("web-inbox.png", "/inbox/conversations/"+grace, "Yes please, thank you!")
	shoot("web-thread-note.png", "/inbox/conversations/"+ada, "check the CRM")
	shoot("web-settings.png", "/settings", "Allow auto-assignment")
}
