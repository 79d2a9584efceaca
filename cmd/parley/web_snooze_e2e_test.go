package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestWebSnoozeInTheBrowsersZone: a snooze time typed in the thread is the
// browser's local time (here New York's), and the form names that zone;
// the conversation sleeps until that moment in UTC.
func TestWebSnoozeInTheBrowsersZone(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	e.text("+14155550161", "Call me next week")
	id := e.conversationOf("+14155550161")["id"].(string)

	b := e.browser()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	b.signIn(admin.Email, admin.Password)
	b.open("/inbox/conversations/" + id)
	b.waitText(".thread-snooze label", "America/New_York")
	b.input("#snooze-until", "2031-01-15T09:30")
	b.js(`document.querySelector(".thread-snooze button[type=submit]").click()`)
	want := time.Date(2031, 1, 15, 14, 30, 0, 0, time.UTC) // 09:30 EST
	e.eventually("the conversation snoozed", func() bool {
		c := e.must(200, e.admin("GET", "/v1/conversations/"+id, nil))
		until, _ := c["snoozed_until"].(string)
		at, err := time.Parse(time.RFC3339, until)
		return c["status"] == "snoozed" && err == nil && at.Equal(want)
	})
}
