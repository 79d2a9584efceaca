package twiliotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
	// pageTokenPrefix starts a PageToken; the rest is the SID of the last
	// text on the previous page.
	pageTokenPrefix = "PA"
)

// listFilter is a Messages list query. DateSent filters become a range of
// send times: from the start of one UTC day to the end of another.
type listFilter struct {
	account string
	to      string
	from    string
	since   int64 // Unix nanoseconds, inclusive; 0 for no bound
	before  int64 // Unix nanoseconds, exclusive; 0 for no bound
}

// parseListFilter reads Twilio's list filters. Twilio documents DateSent as
// a YYYY-MM-DD day in GMT, with "DateSent<" and "DateSent>" meaning on or
// before and on or after that day; twilio-go sends a full RFC 3339 time
// instead, which is taken as the UTC day it falls on. Matching whole days is
// the coarser reading, so a reconciler written against the fake cannot come
// to rely on a precision Twilio may not offer.
func parseListFilter(q url.Values, account string) (listFilter, error) {
	f := listFilter{account: account, to: q.Get("To"), from: q.Get("From")}
	for _, name := range []string{"DateSent", "DateSent<", "DateSent>"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		day, err := parseDay(v)
		if err != nil {
			//lint:ignore ST1005 Twilio's own wording: it is the API error's message
			return f, fmt.Errorf("Invalid %s: %s", name, v)
		}
		start, end := day.UnixNano(), day.AddDate(0, 0, 1).UnixNano()
		if name != "DateSent<" && start > f.since {
			f.since = start
		}
		if name != "DateSent>" && (f.before == 0 || end < f.before) {
			f.before = end
		}
	}
	return f, nil
}

// parseDay reads a YYYY-MM-DD day or an RFC 3339 time and returns the start
// of its UTC day.
func parseDay(v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

func (f listFilter) keep(r *record) bool {
	return r.account.Value() == f.account &&
		(f.from == "" || r.from.Value() == f.from) &&
		(f.since == 0 || r.created >= f.since) &&
		(f.before == 0 || r.created < f.before)
}

// listPage is Twilio's page of Messages (twilio-go's ListMessageResponse).
// twilio-go follows next_page_uri until it is null.
type listPage struct {
	Messages        []apiMessage `json:"messages"`
	End             int          `json:"end"`
	FirstPageURI    string       `json:"first_page_uri"`
	NextPageURI     *string      `json:"next_page_uri"`
	Page            int          `json:"page"`
	PageSize        int          `json:"page_size"`
	PreviousPageURI *string      `json:"previous_page_uri"`
	Start           int          `json:"start"`
	URI             string       `json:"uri"`
}

func (c *Carrier) handleListMessages(w http.ResponseWriter, r *http.Request, account string) {
	q := r.URL.Query()
	f, err := parseListFilter(q, account)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, codeInvalidParameter, err.Error())
		return
	}
	size, page := pageSize(q.Get("PageSize")), atLeastZero(q.Get("Page"))
	pq := pageQuery{to: f.to, keep: f.keep, limit: size}
	if token := q.Get("PageToken"); token != "" {
		after, ok := parseSid(strings.TrimPrefix(token, pageTokenPrefix))
		if !ok {
			writeAPIError(w, http.StatusBadRequest, codeInvalidParameter, "Invalid PageToken: "+token)
			return
		}
		pq.after = &after
	} else {
		pq.skip = page * size // a hand-built Page=N without a token counts from the newest
	}
	recs, more, _ := c.store.page(pq) // a token whose text Reset forgot reads as an empty page
	writeJSON(w, http.StatusOK, newListPage(r.URL, recs, more, size, page))
}

func newListPage(u *url.URL, recs []record, more bool, size, page int) listPage {
	start := page * size
	p := listPage{
		Messages:     make([]apiMessage, len(recs)),
		Start:        start,
		End:          max(start, start+len(recs)-1),
		FirstPageURI: pageURI(u, size, 0, ""),
		Page:         page,
		PageSize:     size,
		URI:          u.RequestURI(),
	}
	for i := range recs {
		p.Messages[i] = resource(&recs[i])
	}
	if more {
		next := pageURI(u, size, page+1, pageTokenPrefix+recs[len(recs)-1].sid.String())
		p.NextPageURI = &next
	}
	return p
}

// pageURI is the request's URI with its paging parameters replaced.
func pageURI(u *url.URL, size, page int, token string) string {
	q := u.Query()
	q.Set("PageSize", strconv.Itoa(size))
	q.Set("Page", strconv.Itoa(page))
	q.Del("PageToken")
	if token != "" {
		q.Set("PageToken", token)
	}
	return u.Path + "?" + q.Encode()
}

// pageSize reads PageSize as Twilio does: 50 when absent, at most 1000.
func pageSize(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return defaultPageSize
	}
	return min(n, maxPageSize)
}

func atLeastZero(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
