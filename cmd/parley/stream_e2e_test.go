package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/storetest"
)

// sseEvent is one server-sent event, or a comment line (Comment set).
type sseEvent struct {
	ID, Type, Data string
	Comment        string
	At             time.Time // when the client read it
}

// JSON decodes the event's data.
func (ev sseEvent) JSON() map[string]any {
	var v map[string]any
	_ = json.Unmarshal([]byte(ev.Data), &v)
	return v
}

// sseStream is an open GET /v1/stream read in the background.
type sseStream struct {
	t      testing.TB
	cancel context.CancelFunc
	ch     chan sseEvent
	done   chan struct{} // closed when the server ended the stream
	mu     sync.Mutex
	got    []sseEvent
}

// withStreams sets the streams' heartbeat and the server's write timeout.
func withStreams(heartbeat, writeTimeout time.Duration) envOption {
	return func(c *Config, _ *twiliotestConfig) { c.heartbeat, c.writeTimeout = heartbeat, writeTimeout }
}

// openStream opens /v1/stream as token with the given Last-Event-ID header
// (none when empty) and query. Its answer is checked against openapi.json
// once the stream ends.
func (e *env) openStream(token, lastEventID, query string) *sseStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.base+"/v1/stream"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("open the stream: %v", err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		e.t.Fatalf("stream answered %d %s: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	s := &sseStream{t: e.t, cancel: cancel, ch: make(chan sseEvent, 10000), done: make(chan struct{})}
	go s.read(req, res)
	e.t.Cleanup(s.close)
	return s
}

// read parses the stream until it ends, then checks the answer.
func (s *sseStream) read(req *http.Request, res *http.Response) {
	defer close(s.done)
	defer res.Body.Close()
	var raw bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(res.Body, &raw))
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				ev.At = time.Now()
				s.mu.Lock()
				s.got = append(s.got, ev)
				s.mu.Unlock()
				s.ch <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			ev.Comment = strings.TrimSpace(line[1:])
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.ID = value
			case "event":
				ev.Type = value
			case "data":
				ev.Data += value
			}
		}
	}
	if err := checkAnswer(req.WithContext(context.Background()), res, raw.Bytes()); err != nil {
		s.t.Errorf("GET /v1/stream answered against gateway/openapi.json: %v", err)
	}
}

func (s *sseStream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event (comments skipped unless comments), failing
// the test after wait.
func (s *sseStream) next(wait time.Duration, comments bool) sseEvent {
	s.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev := <-s.ch:
			if ev.Comment == "" || comments {
				return ev
			}
		case <-s.done:
			s.t.Fatal("the stream ended")
		case <-timeout:
			s.t.Fatalf("no event within %v", wait)
		}
	}
}

// until reads events until one satisfies ok and returns those read, the
// matching one last.
func (s *sseStream) until(what string, ok func(sseEvent) bool) []sseEvent {
	s.t.Helper()
	var out []sseEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := s.next(time.Until(deadline), false)
		out = append(out, ev)
		if ok(ev) {
			return out
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// events are the events read so far (comments left out).
func (s *sseStream) events() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sseEvent
	for _, ev := range s.got {
		if ev.Comment == "" {
			out = append(out, ev)
		}
	}
	return out
}

func ofType(typ string) func(sseEvent) bool { return func(ev sseEvent) bool { return ev.Type == typ } }

// textBody matches message.created of a text with this body.
func textBody(body string) func(sseEvent) bool {
	return func(ev sseEvent) bool { return ev.Type == "message.created" && ev.JSON()["body"] == body }
}

// inConversation reports whether an event concerns conversation id.
func inConversation(ev sseEvent, id string) bool {
	d := ev.JSON()
	return (strings.HasPrefix(ev.Type, "conversation.") && d["id"] == id) || d["conversation_id"] == id
}

// An agent without view-all streams the conversations assigned to them,
// their messages and their own notifications, and nothing of a
// colleague's; the admin streams everything. Each event's data is the
// object as its GET returns it.
func TestStreamShowsEachUserWhatTheyMaySee(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			ann, annToken, _ := e.addStaff("ann@example.com", "agent", false)
			bob, bobToken, _ := e.addStaff("bob@example.com", "agent", false)
			admin := e.openStream(e.token, "", "")
			annS := e.openStream(annToken, "", "")
			bobS := e.openStream(bobToken, "", "")

			const annPhone, bobPhone = "+16282000401", "+16282000402"
			e.text(annPhone, "Table for two?")
			e.text(bobPhone, "Open on Sunday?")
			annConv := e.conversationOf(annPhone)["id"].(string)
			bobConv := e.conversationOf(bobPhone)["id"].(string)
			e.staffAssign(annConv, ann["id"].(string))
			e.staffAssign(bobConv, bob["id"].(string))
			e.text(annPhone, "Around 8pm")
			e.text(bobPhone, "Or Monday")

			// The admin sees both conversations created, assigned and texted.
			adminSaw := admin.until("Bob's last text on the admin's stream", textBody("Or Monday"))
			for _, conv := range []string{annConv, bobConv} {
				var types []string
				for _, ev := range adminSaw {
					if inConversation(ev, conv) && ev.Type != "notification.created" {
						types = append(types, ev.Type)
					}
				}
				// The store writes a new conversation and its first text in
				// one transaction; their order within it is the store's.
				want := []string{"conversation.created", "conversation.updated", "message.created", "message.created"}
				if got := slices.Sorted(slices.Values(types)); !sameStrings(got, want) || types[len(types)-1] != "message.created" {
					t.Errorf("admin's stream for conversation %s: %v; want the conversation created and updated, two texts, the second last", conv, types)
				}
			}

			annS.until("Ann's second text on Ann's stream", textBody("Around 8pm"))
			bobS.until("Bob's second text on Bob's stream", textBody("Or Monday"))
			// Whatever concerned the colleague's conversation has been read
			// by now: the hub wakes every stream of the account at once.
			time.Sleep(300 * time.Millisecond)
			annSaw, bobSaw := annS.events(), bobS.events()
			for _, tc := range []struct {
				who            string
				saw            []sseEvent
				own, colleague string
				userID         any
			}{{"ann", annSaw, annConv, bobConv, ann["id"]}, {"bob", bobSaw, bobConv, annConv, bob["id"]}} {
				var assigned, notified bool
				for _, ev := range tc.saw {
					if inConversation(ev, tc.colleague) {
						t.Errorf("%s streamed %s of a colleague's conversation: %s", tc.who, ev.Type, ev.Data)
					}
					if ev.Type == "conversation.updated" && ev.JSON()["assignee_id"] == tc.userID {
						assigned = true
					}
					if ev.Type == "notification.created" && ev.JSON()["kind"] == "conversation_assigned" {
						notified = true
					}
				}
				if !assigned || !notified {
					t.Errorf("%s's stream: assignment seen %v, its notification %v; want both: %v", tc.who, assigned, notified, tc.saw)
				}
			}
			// Notifications go to their recipient only.
			for _, ev := range admin.events() {
				if ev.Type == "notification.created" {
					t.Errorf("the admin streamed another user's notification: %s", ev.Data)
				}
			}

			// data is the object its GET returns.
			var lastText sseEvent
			for _, ev := range annSaw {
				if textBody("Around 8pm")(ev) {
					lastText = ev
				}
			}
			msgs := e.must(200, e.call(annToken, "GET", "/v1/conversations/"+annConv+"/messages", nil))["data"].([]any)
			if got, want := lastText.JSON(), msgs[len(msgs)-1].(map[string]any); !sameJSON(got, want) {
				t.Errorf("message.created data = %v\nGET gives %v", got, want)
			}
			if id, err := strconv.ParseInt(lastText.ID, 10, 64); err != nil || id <= 0 {
				t.Errorf("event id %q, want a log position", lastText.ID)
			}

			// Given to Bob, Ann's conversation leaves Ann's inbox: she is
			// sent that change, and nothing of it after.
			e.staffAssign(annConv, bob["id"].(string))
			annS.until("Ann's conversation given to Bob, on Ann's stream", func(ev sseEvent) bool {
				return ev.Type == "conversation.updated" && inConversation(ev, annConv) && ev.JSON()["assignee_id"] == bob["id"]
			})
			bobS.until("Ann's conversation given to Bob, on Bob's stream", func(ev sseEvent) bool {
				return ev.Type == "conversation.updated" && inConversation(ev, annConv) && ev.JSON()["assignee_id"] == bob["id"]
			})
		})
	}
}

// A client that reconnects with Last-Event-ID gets exactly the events it
// missed, in order, as a stream that stayed open got them; so does a tool
// passing last_event_id.
func TestStreamReplaysWhatAClientMissed(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	witness := e.openStream(e.token, "", "")
	s := e.openStream(e.token, "", "")
	e.text("+16282000501", "one")
	seen := s.until("the first text", ofType("message.created"))
	s.close()
	resumeAt := seen[len(seen)-1].ID

	e.text("+16282000502", "two")
	e.text("+16282000501", "three")
	e.staffAssign(e.conversationOf("+16282000501")["id"].(string), "")
	all := witness.until("the last text", textBody("three"))
	var want []string
	after := false
	for _, ev := range all {
		if after {
			want = append(want, ev.ID+" "+ev.Type)
		}
		after = after || ev.ID == resumeAt
	}
	if len(want) < 3 { // the second conversation, its text, the first one's second text
		t.Fatalf("the witness saw %v after %s; want the missed texts and conversation", want, resumeAt)
	}
	for _, how := range []struct{ header, query string }{{resumeAt, ""}, {"", "?last_event_id=" + resumeAt}} {
		r := e.openStream(e.token, how.header, how.query)
		var got []string
		for range want {
			ev := r.next(5*time.Second, false)
			got = append(got, ev.ID+" "+ev.Type)
		}
		if !sameStrings(got, want) {
			t.Errorf("resumed (%+v) with %v; want %v", how, got, want)
		}
		r.close()
	}
	wantAPIError(t, e.call(e.token, "GET", "/v1/stream?last_event_id=yesterday", nil), 422, "", "last_event_id")
	wantAPIError(t, e.call("", "GET", "/v1/stream", nil), 401, "")
}

// A Last-Event-ID the log no longer keeps, or beyond its head, gets
// event: reset carrying the head, then live events.
func TestStreamResetsAClientTooFarBehindOrAhead(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			s := e.openStream(e.token, "", "")
			e.text("+16282000601", "hello")
			e.text("+16282000601", "again")
			evs := s.until("the second text", textBody("again"))
			head := evs[len(evs)-1].ID

			future := e.openStream(e.token, head+"000", "")
			if ev := future.next(5*time.Second, false); ev.Type != "reset" || ev.ID != head {
				t.Errorf("a future Last-Event-ID got %+v; want reset at %s", ev, head)
			}
			// Retention pruned the log.
			if _, err := e.main.DB.PruneEvents(context.Background(), time.Now().Add(time.Hour), 1000); err != nil {
				t.Fatal(err)
			}
			old := e.openStream(e.token, "1", "")
			if ev := old.next(5*time.Second, false); ev.Type != "reset" || ev.ID != head {
				t.Errorf("a pruned Last-Event-ID got %+v; want reset at %s", ev, head)
			}
			upToDate := e.openStream(e.token, head, "")
			e.text("+16282000601", "live")
			for _, st := range []*sseStream{future, old, upToDate} {
				for _, ev := range st.until("the live text", textBody("live")) {
					if ev.Type == "reset" {
						t.Errorf("a second reset: %+v; want the live events", ev)
					}
				}
			}
		})
	}
}

// An idle stream gets a comment line every heartbeat, and lives past the
// server's write timeout. The timeout (which every request has) stays
// well above what a webhook takes on a loaded machine under -race: at
// 500 ms one took 573 ms and the carrier's post was cut.
func TestStreamHeartbeatsAndOutlivesTheWriteTimeout(t *testing.T) {
	const heartbeat, writeTimeout = 100 * time.Millisecond, 2 * time.Second
	e := boot(t, "", withStreams(heartbeat, writeTimeout))
	e.setupChannel(nil)
	s := e.openStream(e.token, "", "")
	start := time.Now()
	beats := 0
	for time.Since(start) < writeTimeout+time.Second {
		if ev := s.next(time.Second, true); ev.Comment == "heartbeat" {
			beats++
		}
	}
	if beats < 15 {
		t.Errorf("%d heartbeats in 3 s at 100 ms; want about 30", beats)
	}
	e.text("+16282000701", "still there?")
	s.until("a text 3 s in, past the 2 s write timeout", ofType("message.created"))
}

// Closing the program ends open streams at once instead of waiting out
// the shutdown timeout.
func TestStreamEndsPromptlyAtShutdown(t *testing.T) {
	e := boot(t, "")
	s := e.openStream(e.token, "", "")
	start := time.Now()
	if err := e.main.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %v with a stream open", took)
	}
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
		t.Error("the stream was not ended by the shutdown")
	}
}

// An event committed on one instance reaches a stream on another.
func TestStreamAcrossInstances(t *testing.T) {
	dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL
	a := boot(t, dbURL)
	b := boot(t, dbURL)
	a.setupChannel(nil)
	s := b.openStream(b.token, "", "")
	a.text("+16282000801", "hello from A")
	ev := s.until("A's text on B's stream", ofType("message.created"))
	if got := ev[len(ev)-1].JSON()["body"]; got != "hello from A" {
		t.Errorf("B streamed %v", got)
	}
}

func sameStrings(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// A stream follows its user's access as it changes: narrowed visibility
// filters what follows at once, and a revoked token or a deactivated user
// ends the stream without waiting for a heartbeat (a minute here).
func TestStreamFollowsItsUsersAccess(t *testing.T) {
	e := boot(t, "", withStreams(time.Minute, 0))
	e.setupChannel(nil)
	ann, annToken, _ := e.addStaff("ann@example.com", "agent", true)
	_, bobToken, bobTokenID := e.addStaff("bob@example.com", "agent", true)
	admin := e.openStream(e.token, "", "")
	annS := e.openStream(annToken, "", "")
	bobS := e.openStream(bobToken, "", "")

	e.text("+16282000901", "Anyone there?")
	annS.until("a new thread's text on Ann's stream, seeing all", textBody("Anyone there?"))
	e.must(200, e.admin("PATCH", "/v1/users/"+ann["id"].(string), map[string]any{"view_all_conversations": false}))
	e.text("+16282000902", "Second thread")
	admin.until("the second thread's text on the admin's stream", textBody("Second thread"))
	bobS.until("the second thread's text on Bob's stream", textBody("Second thread"))
	// Her own thread's assignment comes after the text on every stream.
	first := e.conversationOf("+16282000901")["id"].(string)
	e.staffAssign(first, ann["id"].(string))
	annS.until("her thread's assignment on Ann's stream", func(ev sseEvent) bool {
		return ev.Type == "conversation.updated" && ev.JSON()["id"] == first && ev.JSON()["assignee_id"] == ann["id"]
	})
	for _, ev := range annS.events() {
		if ev.Type == "message.created" && ev.JSON()["body"] == "Second thread" {
			t.Errorf("Ann, no longer seeing all, streamed an unassigned thread's text: %s", ev.Data)
		}
	}

	e.must(204, e.admin("DELETE", "/v1/tokens/"+bobTokenID, nil))
	bobS.wantEnded(t, "Bob's token was revoked")
	e.must(200, e.admin("PATCH", "/v1/users/"+ann["id"].(string), map[string]any{"active": false}))
	annS.wantEnded(t, "Ann was deactivated")
}

// wantEnded fails t unless the server ends the stream within 10 s.
func (s *sseStream) wantEnded(t *testing.T, why string) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s: the stream is still open 10 s later", why)
	}
}
