package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

// TestTheWholeFlowOnEachDatabase runs the user-visible flow on
// SQLite and on PostgreSQL through the real program: admin setup, inbound
// texts from concurrent phones, STOP with its confirmation and receipt,
// HELP, reads and pagination. The program migrates each database from
// empty itself (other tests boot on a migrated copy).
func TestTheWholeFlowOnEachDatabase(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.EmptyURL(t, dialect))
			e.setupChannel(nil)

			const phones = 20
			var wg sync.WaitGroup
			for i := 0; i < phones; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					from := fmt.Sprintf("+1628%07d", 2000000+i)
					e.text(from, "first")
					e.text(from, "second")
				}()
			}
			wg.Wait()

			seen := map[string]bool{}
			cursor := ""
			for {
				path := "/v1/conversations?limit=7"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				page := e.must(200, e.admin("GET", path, nil))
				for _, c := range page["data"].([]any) {
					id := c.(map[string]any)["id"].(string)
					if seen[id] {
						t.Fatalf("conversation %s on two pages", id)
					}
					seen[id] = true
				}
				next, _ := page["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != phones {
				t.Fatalf("%d conversations, want one per phone (%d)", len(seen), phones)
			}

			// The keywords arrive among other phones' texts: on PostgreSQL
			// they share their commits.
			for i := range phones {
				body := "third"
				switch i {
				case 3:
					body = "STOP"
				case 4:
					body = "HELP"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.text(fmt.Sprintf("+1628%07d", 2000000+i), body)
				}()
			}
			wg.Wait()
			e.eventually("the STOP confirmation", func() bool { return len(e.received("+16282000003")) == 1 })
			e.eventually("the HELP answer", func() bool { return len(e.received("+16282000004")) == 1 })
			if c := e.optOut("+16282000003"); c["opted_out"] != true {
				t.Errorf("consent after STOP: %v", c)
			}
			conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B16282000003", nil))["data"].([]any)[0].(map[string]any)
			e.eventually("the confirmation delivered", func() bool {
				msgs := e.must(200, e.admin("GET", "/v1/conversations/"+conv["id"].(string)+"/messages", nil))["data"].([]any)
				last := msgs[len(msgs)-1].(map[string]any)
				return last["direction"] == "outbound" && last["status"] == "delivered"
			})
			if !strings.HasPrefix(e.main.DB.Dialect(), dialect) {
				t.Errorf("ran on %s, want %s", e.main.DB.Dialect(), dialect)
			}
		})
	}
}
