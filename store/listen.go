package store

import (
	"time"

	"github.com/lib/pq"
)

// listener is an instance's PostgreSQL connection listening for what other
// instances committed: route changes (route_cache.go) and new events
// (event_log.go). One connection serves both.
type listener struct {
	l    *pq.Listener
	done chan struct{}
}

// listen listens on its own connection, reconnecting when it drops. Routes
// are kept only while it listens; the log is told to catch up after a
// reconnection, since notifications sent meanwhile are lost.
func listen(dsn string, routes *routeCache, log *eventAnnouncer) *listener {
	routes.mu.Lock()
	routes.needsListener = true
	routes.mu.Unlock()
	l := pq.NewListener(dsn, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, _ error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			routes.setListening(false)
		case pq.ListenerEventReconnected: // the channels are listened to again
			routes.setListening(true)
			log.catchUp()
		}
	})
	rl := &listener{l: l, done: make(chan struct{})}
	go func() {
		// Listen waits for the first connection, however long it takes.
		if err := l.Listen(routesChannel); err != nil {
			return
		}
		if err := l.Listen(eventsChannel); err != nil {
			return
		}
		routes.setListening(true)
	}()
	go func() {
		defer close(rl.done)
		for n := range l.Notify { // nil after a reconnection, and closed by Close
			switch {
			case n == nil:
				routes.forget()
				log.catchUp()
			case n.Channel == eventsChannel:
				if ann, err := parseAnnouncement(n.Extra); err == nil {
					log.announce(ann)
				}
			default:
				routes.forget()
			}
		}
	}()
	return rl
}

func (rl *listener) close() {
	_ = rl.l.Close()
	<-rl.done
}
