package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"
)

// sid is a Twilio SID's 32 hex digits as bytes; the two-letter prefix is
// implied by what the SID names. Keeping it as an array instead of a string
// saves a pointer and a separate allocation per message.
type sid [16]byte

func newSid() sid {
	var s sid
	rand.Read(s[:]) // never fails since Go 1.24
	return s
}

func (s sid) String() string { return "SM" + hex.EncodeToString(s[:]) }

// parseSid reads a message SID ("SM" + 32 hex digits).
func parseSid(s string) (sid, bool) {
	var out sid
	hexPart, ok := strings.CutPrefix(s, "SM")
	if !ok || len(hexPart) != 32 {
		return out, false
	}
	_, err := hex.Decode(out[:], []byte(hexPart))
	return out, err == nil
}

// str is an interned string. Senders, recipients, accounts and callback
// URLs repeat across millions of texts in a benchmark, so each message keeps
// an 8-byte handle instead of its own copy.
type str = unique.Handle[string]

func intern(s string) str { return unique.Make(s) }

// record is one stored outbound text, kept small because benchmarks push a
// million of them through one process.
type record struct {
	sid         sid
	created     int64 // Unix nanoseconds; the fake sends at once, so also date_sent
	updated     int64 // Unix nanoseconds
	account     str
	from        str
	service     str
	to          str
	callback    str
	body        string
	media       []string
	status      string
	errorCode   int32
	numSegments uint16
}

func (r *record) message() Message {
	return Message{
		Sid:                 r.sid.String(),
		AccountSid:          r.account.Value(),
		From:                r.from.Value(),
		MessagingServiceSid: r.service.Value(),
		To:                  r.to.Value(),
		Body:                r.body,
		MediaURLs:           r.media,
		Status:              r.status,
		ErrorCode:           int(r.errorCode),
		StatusCallback:      r.callback.Value(),
		DateCreated:         time.Unix(0, r.created).UTC(),
		NumSegments:         int(r.numSegments),
	}
}

// store holds the accepted texts in creation order. Twilio lists newest
// first, which is this order walked backwards.
type store struct {
	mu    sync.RWMutex
	recs  []record
	bySid map[sid]int32
	byTo  map[str][]int32
}

func newStore() *store {
	return &store{bySid: make(map[sid]int32), byTo: make(map[str][]int32)}
}

func (s *store) add(r record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := int32(len(s.recs))
	s.recs = append(s.recs, r)
	s.bySid[r.sid] = i
	s.byTo[r.to] = append(s.byTo[r.to], i)
}

func (s *store) get(id sid) (record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.bySid[id]
	if !ok {
		return record{}, false
	}
	return s.recs[i], true
}

// setStatus records a status the carrier reports and returns the updated
// text; false means the text is unknown, for example forgotten by Reset.
func (s *store) setStatus(id sid, status string, errorCode int, now time.Time) (record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.bySid[id]
	if !ok {
		return record{}, false
	}
	r := &s.recs[i]
	r.status, r.errorCode, r.updated = status, int32(errorCode), now.UnixNano()
	return *r, true
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = nil
	s.bySid = make(map[sid]int32)
	s.byTo = make(map[str][]int32)
}

// all returns every text in creation order.
func (s *store) count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}

func (s *store) all() []Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Message, len(s.recs))
	for i := range s.recs {
		out[i] = s.recs[i].message()
	}
	return out
}

// to returns the texts sent to phone in creation order.
func (s *store) to(phone string) []Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx := s.byTo[intern(phone)]
	out := make([]Message, len(idx))
	for i, j := range idx {
		out[i] = s.recs[j].message()
	}
	return out
}

// pageQuery selects a page of texts, newest first.
type pageQuery struct {
	to    string             // when set, only texts to this number (served from the index)
	keep  func(*record) bool // the other filters
	after *sid               // when set, start after this text (PageToken)
	skip  int                // matches to pass over first (Page without a PageToken)
	limit int
}

// page returns up to q.limit matching texts and whether more follow; ok is
// false when q.after names an unknown text. Anchoring pages on a SID rather
// than an offset keeps them stable while new texts arrive, as Twilio's
// PageToken does.
func (s *store) page(q pageQuery) (recs []record, more, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	end := len(s.recs) // candidates are the texts before end
	if q.after != nil {
		i, found := s.bySid[*q.after]
		if !found {
			return nil, false, false
		}
		end = int(i)
	}
	// visit reports whether the page is full and another match was found.
	skip := q.skip
	visit := func(i int) bool {
		r := &s.recs[i]
		if !q.keep(r) {
			return false
		}
		if skip > 0 {
			skip--
			return false
		}
		if len(recs) == q.limit {
			return true
		}
		recs = append(recs, *r)
		return false
	}
	if q.to == "" {
		for i := end - 1; i >= 0 && !more; i-- {
			more = visit(i)
		}
		return recs, more, true
	}
	idx := s.byTo[intern(q.to)]
	n := sort.Search(len(idx), func(k int) bool { return int(idx[k]) >= end })
	for k := n - 1; k >= 0 && !more; k-- {
		more = visit(int(idx[k]))
	}
	return recs, more, true
}
