package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// DefaultStreamHeartbeat is how often an idle stream sends a comment line,
// so that proxies keep it open (API.md: every 15 s).
const DefaultStreamHeartbeat = 15 * time.Second

// streamWriteWait is how long one write to a stream may take. The
// server's WriteTimeout would cut every stream after 30 s; each write
// gets this instead, so a client that stopped reading is let go and one
// that reads is kept however long it stays.
const streamWriteWait = 15 * time.Second

// While events keep coming, a stream writes at most once a pace: a write
// and a flush (a system call at each end) per commit for every stream
// would take the CPU the commits need (with 1,000 streams, system calls
// were the largest part of the profile: docs/PERFORMANCE.md). The pace
// grows with the streams open on the instance, so that all of them
// together flush about 1/streamPacePerStream (10,000) times a second, up
// to streamPaceMax; a handful of streams are paced by less than a
// millisecond. A lone event always goes out at once.
const (
	streamPacePerStream = 100 * time.Microsecond
	streamPaceMax       = 100 * time.Millisecond
)

// streamPace is the pace of each of n open streams.
func streamPace(n int64) time.Duration {
	return min(streamPaceMax, time.Duration(n)*streamPacePerStream)
}

// streamBatch is how many events a stream reads at a time when catching
// up.
const streamBatch = 200

// handleStream is GET /v1/stream: the account's public events the caller
// may see, as server-sent events, from where the client was (Last-Event-ID)
// or from now. A stream only reads what the instance's hub has read, in
// memory when recent and from the log otherwise, so a slow client never
// holds the hub up: it catches up at its own pace.
func handleStream(d *Deps) apiFunc {
	var open atomic.Int64 // streams open on this handler
	return func(w http.ResponseWriter, r *http.Request) error {
		if d.Events == nil || d.Renderer == nil {
			return parley.Errorf(parley.ENOTFOUND, "live updates are not served by this instance")
		}
		last, err := lastEventID(r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		ctx := r.Context()
		sub, err := d.Events.Subscribe(ctx, me.AccountID)
		if err != nil {
			return err
		}
		defer sub.Close()
		open.Add(1)
		defer open.Add(-1)
		oldest, head, err := d.Events.Log.EventBounds(ctx, me.AccountID)
		if err != nil {
			return err
		}
		pos, reset := resumePoint(last, oldest, head)

		// recheck: a change committed between the authentication and the
		// head read above is behind the stream; the first look catches it.
		s := &stream{w: w, rc: http.NewResponseController(w), recheck: true}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
		w.WriteHeader(http.StatusOK)
		if reset {
			s.reset(pos)
		}
		if err := s.flush(); err != nil {
			return nil
		}
		heartbeat := d.StreamHeartbeat
		if heartbeat <= 0 {
			heartbeat = DefaultStreamHeartbeat
		}
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			if s.recheck {
				if me, err = stillSignedIn(d, r, me, s.userChanged); err != nil {
					return nil // the client's next request is told why
				}
				s.recheck, s.userChanged = false, false
			}
			looked := s.rounds
			if pos, err = s.send(ctx, d.Renderer, sub, me, pos); err != nil {
				// A write that failed is a client gone or too slow to read.
				if s.err == nil && !isGone(ctx, err) {
					hlog.FromRequest(r).Error().Err(err).Msg("stream ended: sending its events failed")
				}
				return nil
			}
			if s.recheck {
				continue // the user changed: what follows is for who they are now
			}
			// Events were just looked at: the next wait for more is paced.
			wait := sub.Wake()
			var pace <-chan time.Time
			if s.rounds > looked {
				wait, pace = nil, time.After(streamPace(open.Load()))
			}
			select {
			case <-wait:
			case <-pace:
			case <-tick.C:
				s.comment("heartbeat")
				if s.flush() != nil {
					return nil
				}
				s.recheck = true
			case <-ctx.Done():
				return nil
			case <-sub.Closed():
				return nil
			case <-d.Closing:
				return nil
			}
		}
	}
}

// lastEventID is where the client was: the Last-Event-ID header an
// EventSource sends when it reconnects, or ?last_event_id= for tools that
// cannot set headers (an extension). Nil when neither is given.
func lastEventID(r *http.Request) (*int64, error) {
	raw, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if raw == "" {
		raw, field = r.URL.Query().Get("last_event_id"), "last_event_id"
	}
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return nil, parley.Invalid(map[string]string{field: "must be an event id this stream sent"})
	}
	return &n, nil
}

// resumePoint is the position a stream starts after, and whether the
// client must refetch first: its last event is older than the log keeps
// (events after it are gone) or beyond the head (another log, or a
// client's own invention). Without a last event it starts at the head.
func resumePoint(last *int64, oldest, head int64) (pos int64, reset bool) {
	switch {
	case last == nil:
		return head, false
	case *last > head:
		return head, true
	case *last < head && (oldest == 0 || *last < oldest-1):
		return head, true
	}
	return *last, false
}

// mayStream reports whether u may see a rendered event: a notification
// only its recipient, an admin-only subject admins, a conversation's
// subject whoever may see the conversation (conversations.CanSee).
func mayStream(u conversations.User, r events.Rendered) bool {
	switch {
	case r.Gone:
		return false
	case r.Recipient != nil:
		return *r.Recipient == u.ID
	case r.AdminsOnly:
		return u.IsAdmin()
	case r.InConversation:
		return conversations.CanSee(u, conversations.Conversation{AssigneeID: r.Assignee}) ||
			(r.FormerAssignee != nil && *r.FormerAssignee == u.ID)
	}
	return true
}

// stream writes server-sent events. A write error is kept and ends the
// stream at the next flush.
type stream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
	err error
	// rounds counts the batches of events looked at.
	rounds int
	// recheck asks for the caller's credentials to be checked again
	// before more events go out: at the start, at each heartbeat, and
	// when an event says the caller's user changed (userChanged).
	recheck, userChanged bool
}

// stillSignedIn checks a stream's credentials again: a token revoked, a
// session ended or a user deactivated ends the stream, and a changed role
// or visibility filters what follows. A database that cannot answer
// leaves the stream as it was until the next look, unless the user is
// known to have changed: then the stream ends (the client resumes from
// its last event) rather than go on with rights they may have lost.
func stillSignedIn(d *Deps, r *http.Request, was conversations.User, changed bool) (conversations.User, error) {
	u, err := requestUser(d, r)
	switch {
	case err == nil:
		return u, nil
	case changed || parley.IsKind(err, parley.EUNAUTHENTICATED):
		return was, err
	}
	if !isGone(r.Context(), err) {
		hlog.FromRequest(r).Warn().Err(err).Msg("stream: could not check its credentials again")
	}
	return was, nil
}

// send writes what the instance has read after pos that u may see, and
// returns the position it reached. The events at hand go out together,
// flushed at once: none waits for a later one.
func (s *stream) send(ctx context.Context, render events.Renderer, sub *events.Subscription, u conversations.User, pos int64) (int64, error) {
	for {
		evs, err := sub.After(ctx, pos, streamBatch)
		if err != nil || len(evs) == 0 {
			return pos, err
		}
		s.extend()
		// Positions have no gaps: a hole is what retention pruned while
		// the client was reading behind it.
		if evs[0].Seq != pos+1 {
			s.reset(evs[0].Seq - 1)
		}
		if p, ok := render.(events.Prefetcher); ok {
			p.Prefetch(evs)
		}
		s.buf = s.buf[:0]
		for _, e := range evs {
			if e.Type == events.UserUpdated && e.SubjectID == u.ID {
				// Their role, visibility or access changed: nothing after
				// this goes out before the caller has looked again.
				s.recheck, s.userChanged, pos = true, true, e.Seq
				break
			}
			if e.Type.Public() {
				rd, err := render.Render(ctx, e)
				if err != nil {
					return pos, err
				}
				if mayStream(u, rd) {
					s.appendEvent(e, rd.Data)
				}
			}
			pos = e.Seq
		}
		// Paced even when none of it was the caller's: the pace bounds
		// how often each stream wakes to look, not only its writes.
		s.rounds++
		if len(s.buf) > 0 {
			// One write for the batch: written event by event, a batch
			// larger than the response's buffer goes out in many system calls.
			s.writeBytes(s.buf)
			if err := s.flush(); err != nil {
				return pos, err
			}
		}
		if s.recheck {
			return pos, nil
		}
	}
}

// appendEvent adds one event to the batch in the stream's buffer. A busy
// account's events go to every stream: the buffer is reused, so they
// are formatted with no allocation.
func (s *stream) appendEvent(e events.Event, data []byte) {
	b := append(s.buf, "id: "...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(append(b, "\nevent: "...), e.Type...)
	b = append(append(b, "\ndata: "...), data...)
	s.buf = append(b, "\n\n"...)
}

// reset tells the client that events it missed are gone: it refetches
// what it shows, and resumes after pos. (An EventSource dispatches no
// event without data, hence the empty object.)
func (s *stream) reset(pos int64) {
	s.extend()
	s.write("id: " + strconv.FormatInt(pos, 10) + "\nevent: reset\ndata: {}\n\n")
}

// comment writes a comment line, which clients ignore.
func (s *stream) comment(text string) {
	s.extend()
	s.write(": " + text + "\n\n")
}

// extend gives the writes that follow streamWriteWait from now.
func (s *stream) extend() {
	if s.err != nil {
		return
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(streamWriteWait)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
}

func (s *stream) write(text string) {
	if s.err == nil {
		_, s.err = io.WriteString(s.w, text)
	}
}

func (s *stream) writeBytes(b []byte) {
	if s.err == nil && len(b) > 0 {
		_, s.err = s.w.Write(b)
	}
}

func (s *stream) flush() error {
	if s.err == nil {
		if err := s.rc.Flush(); err != nil {
			s.err = err
		}
	}
	return s.err
}

// isGone says an error only reports that the client left.
func isGone(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled)
}
