package store

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/lib/pq"

	"github.com/parleyhq/parley/conversations"
)

// maxSearchTerms bounds a search: more terms only slow the query down.
const maxSearchTerms = 8

// searchTerms splits a search into lower-case words of letters and digits;
// everything else separates words. The words are safe to put in a
// full-text query of either dialect.
func searchTerms(q string) []string {
	terms := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(terms) > maxSearchTerms {
		terms = terms[:maxSearchTerms]
	}
	return terms
}

// searchCond is a conversation list's q as SQL.
type searchCond struct {
	// cond checks a row.
	cond string
	args []any
	// phone and pargs are the phone part of cond, which the hits plan
	// looks up as it is; terms are q's words (see searchHits).
	phone []string
	pargs []any
	terms []string
	// fullPhone: q is a whole phone number.
	fullPhone bool
}

// conversationSearch is the WHERE condition for a conversation list's q:
// the contact's phone (a full number in any spelling, or its first or last
// digits), or a full-text match on message bodies or the contact's name.
func (d dialect) conversationSearch(q string, accountID any) searchCond {
	var out searchCond
	if phone, err := conversations.NormalizePhone(q); err == nil {
		out.phone, out.pargs, out.fullPhone = []string{"cv.contact_phone = ?"}, []any{phone}, true
	} else if digits, ok := phoneDigits(q); ok {
		// Ranges, not LIKE '%…%': each uses an index. The digits may start
		// the number (with or without the default country code) or end it.
		out.phone = []string{"(cv.contact_phone >= ? AND cv.contact_phone < ?)",
			"(cv.contact_phone >= ? AND cv.contact_phone < ?)", "(cv.contact_phone_rev >= ? AND cv.contact_phone_rev < ?)"}
		rev := reversedDigits(digits)
		out.pargs = []any{"+" + digits, "+" + digits + "\x7f", "+1" + digits, "+1" + digits + "\x7f", rev, rev + "\x7f"}
	}
	conds, args := append([]string{}, out.phone...), append([]any{}, out.pargs...)
	if out.terms = searchTerms(q); len(out.terms) > 0 {
		match := d.textMatch(out.terms)
		tconds, targs := d.textConds(match, accountID)
		conds, args = append(conds, tconds...), append(args, targs...)
	}
	if len(conds) == 0 {
		return searchCond{cond: "1 = 0"}
	}
	out.cond, out.args = "("+strings.Join(conds, " OR ")+")", args
	return out
}

// searchHits is a PostgreSQL search as the hits plan collects its matches
// through the indexes: the phone ranges, OR the text match in the form
// GIN reads fastest. In order of preference (costs in docs/PERFORMANCE.md):
//
//   - the whole words alone, when they are much rarer than the prefix
//     (hitsSearch), the full query checking each row found;
//   - the last term, a prefix, spelled out as the whole words it stands
//     for (prefixWords): GIN intersects whole words as it goes, but reads
//     a prefix's posting lists whole first;
//   - the query as the window checks it.
func (db *DB) searchHits(ctx context.Context, s searchCond) (hitsLookup, error) {
	h := hitsLookup{phone: s.phone, pargs: s.pargs}
	if len(s.terms) > 0 {
		var err error
		if h.text, h.targs, err = db.textHits(ctx, s.terms); err != nil {
			return h, err
		}
	}
	return h, nil
}

// hitsLookup is a search as the hits plan looks it up: the phone ranges
// and the text match ("" when no document can match).
type hitsLookup struct {
	phone []string
	pargs []any
	text  string
	targs []any
}

// where is the lookup as one condition; view, when set, narrows the text
// match, whose index reads it too (migration 00018). The phone ranges
// stay as they are: ANDed with them, the view's posting list would be
// read whole into a bitmap.
func (h hitsLookup) where(view string, vargs []any) (string, []any) {
	conds, args := append([]string{}, h.phone...), append([]any{}, h.pargs...)
	if h.text != "" {
		text, targs := h.text, h.targs
		if view != "" {
			text, targs = "("+text+" AND "+view+")", append(append([]any{}, targs...), vargs...)
		}
		conds, args = append(conds, text), append(args, targs...)
	}
	if len(conds) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// phoneDigits reads "+1415", "0333" or "(415) 555" as a piece of a phone
// number and returns its digits; it needs at least three to be selective.
func phoneDigits(q string) (string, bool) {
	var b strings.Builder
	digits := 0
	for _, r := range strings.TrimSpace(q) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == '+' && digits == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", false
		}
	}
	return b.String(), digits >= 3
}

// termStats are PostgreSQL's statistics of the words of the search
// documents (pg_stats.most_common_elems of conversations.search_tsv): the
// share of conversations each common word is in; with them, those of the
// columns views filter. A search uses them to choose its plan: to leave a
// common prefix out of its index lookup (hitsSearch), to collect a rare
// word's matches first (fewMatches), to shorten the window (windowSize)
// and to skip the recent index (recentFallsShort).
type termStats struct {
	freq map[string]float64
	// rare is the share under which a word is not listed.
	rare float64
	// docs is how many conversations there are (pg_class.reltuples).
	docs float64
	// assignee and status are the statistics of the columns the views
	// and status filters read.
	assignee, status valueStats
}

// valueStats are a column's statistics (pg_stats): the share of nulls,
// of each common value, and of each other value.
type valueStats struct {
	null  float64
	freq  map[string]float64
	other float64
}

// noValueStats are a column's statistics before any ANALYZE: every
// value, and null, counts as in every conversation.
func noValueStats() valueStats {
	return valueStats{null: 1, freq: map[string]float64{}, other: 1}
}

// noTermStats are the statistics before any ANALYZE: every word counts as
// common.
func noTermStats() termStats {
	return termStats{freq: map[string]float64{}, rare: 1, assignee: noValueStats(), status: noValueStats()}
}

// share is the share of conversations whose column holds value.
func (v valueStats) share(value string) float64 {
	if f, ok := v.freq[value]; ok {
		return f
	}
	return v.other
}

// termStatsAge is how long the statistics are kept: ANALYZE refreshes
// them rarely, and they only choose between two correct plans.
const termStatsAge = 10 * time.Minute

// termFrequencies returns the kept statistics, loading them when old.
// Without statistics (never analysed, or the read failed) freq is empty
// and rare is 1: every word counts as common, until the next load.
func (db *DB) termFrequencies(ctx context.Context) (freq map[string]float64, rare float64) {
	t := db.termStats(ctx)
	return t.freq, t.rare
}

func (db *DB) termStats(ctx context.Context) termStats {
	return db.terms.get(termStatsAge, func() (termStats, bool) {
		t := noTermStats()
		var elems pq.StringArray
		var freqs pq.Float64Array
		err := db.db.QueryRowContext(ctx, `SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples
FROM pg_stats s JOIN pg_class c ON c.oid = 'conversations'::regclass
WHERE s.schemaname = current_schema() AND s.tablename = 'conversations' AND s.attname = 'search_tsv'`).Scan(&elems, &freqs, &t.docs)
		// most_common_elem_freqs goes on with the least and the greatest
		// frequency (and, for arrays but not tsvectors, the share of nulls).
		if err != nil || len(elems) == 0 || len(freqs) < len(elems)+2 {
			return t, true
		}
		for i, e := range elems {
			t.freq[e] = freqs[i]
		}
		t.rare = freqs[len(elems)]
		t.assignee, t.status = db.valueStats(ctx, "assignee_id", t.docs), db.valueStats(ctx, "status", t.docs)
		return t, true
	})
}

// valueStats reads a column's statistics (noValueStats without them).
func (db *DB) valueStats(ctx context.Context, column string, docs float64) valueStats {
	v := valueStats{freq: map[string]float64{}}
	var distinct float64
	var vals pq.StringArray
	var freqs pq.Float64Array
	err := db.db.QueryRowContext(ctx, `SELECT null_frac, n_distinct, COALESCE(most_common_vals::text::text[], '{}'), COALESCE(most_common_freqs, '{}')
FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'conversations' AND attname = $1`, column).Scan(&v.null, &distinct, &vals, &freqs)
	if err != nil || len(vals) != len(freqs) {
		return noValueStats()
	}
	listed := 0.0
	for i, val := range vals {
		v.freq[val] = freqs[i]
		listed += freqs[i]
	}
	if distinct < 0 { // a share of the rows
		distinct = -distinct * docs
	}
	v.other = max(0, 1-v.null-listed) / max(1, distinct-float64(len(vals)))
	return v
}

// fewMatches tells whether the word statistics put a search's matches
// under hitsCap, so that the list collects them first (cappedHitsQuery).
// The migration 00019 statistics list the words in more than about 0.1%
// of the conversations; without statistics nothing counts as few.
func fewMatches(t termStats, terms []string) bool {
	return t.rare < 1 && matchShare(terms, t.freq, t.rare)*t.docs <= hitsCap
}

// termShares are the shares of conversations a search's terms match, as
// far as the statistics tell. A word they do not list is taken to be as
// common as the least common listed one; a prefix counts every listed
// word it starts, and one unlisted word.
func termShares(terms []string, freq map[string]float64, rare float64) []float64 {
	shares := make([]float64, len(terms))
	for i, term := range terms {
		f, listed := freq[term]
		if i == len(terms)-1 {
			f = rare
			for w, wf := range freq {
				if strings.HasPrefix(w, term) {
					f += wf
				}
			}
		} else if !listed {
			f = rare
		}
		shares[i] = min(f, 1)
	}
	return shares
}

// matchShare bounds the share of conversations a search matches: its
// rarest term's.
func matchShare(terms []string, freq map[string]float64, rare float64) float64 {
	share := 1.0
	for _, f := range termShares(terms, freq, rare) {
		share = min(share, f)
	}
	return share
}

// expectedShare is the share of conversations a search matches if its
// words were independent of each other.
func expectedShare(terms []string, freq map[string]float64, rare float64) float64 {
	share := 1.0
	for _, f := range termShares(terms, freq, rare) {
		share *= f
	}
	return share
}

// windowSize is how many of the base's most recent conversations the
// window looks through: searchWindow, or probeWindow when the statistics
// expect fewer than half a page in searchWindow. The probe still fills
// the page when the words go together more than the statistics can tell;
// otherwise it costs a quarter of the walk it replaces.
func windowSize(t termStats, terms []string, limit int) int {
	if len(terms) > 0 && t.rare < 1 && expectedShare(terms, t.freq, t.rare)*searchWindow < float64(limit)/2 {
		return probeWindow
	}
	return searchWindow
}

// spelledOut is the text match with the prefix spelled out as words; ""
// when no document has a word the prefix starts (no text match).
func spelledOut(whole, words []string) (string, []any) {
	switch {
	case len(words) == 0:
		return "", nil
	case len(whole) == 0:
		return "cv.search_tsv @@ ?::tsquery", []any{anyOf(words)}
	}
	return "cv.search_tsv @@ (to_tsquery('simple', ?) && ?::tsquery)", []any{strings.Join(whole, " & "), anyOf(words)}
}

// textHits is the text match of the hits plan; "" when no document can
// match (the prefix starts no word).
func (db *DB) textHits(ctx context.Context, terms []string) (string, []any, error) {
	match := db.dialect.textMatch(terms)
	freq, rare := db.termFrequencies(ctx)
	if exact, ok := hitsSearch(terms, freq, rare); ok {
		return "(cv.search_tsv @@ to_tsquery('simple', ?) AND ts_match_vq(cv.search_tsv, to_tsquery('simple', ?)))", []any{exact, match}, nil
	}
	whole, prefix := terms[:len(terms)-1], terms[len(terms)-1]
	words, ok, err := db.prefixWords(ctx, prefix)
	if err != nil || !ok {
		return "cv.search_tsv @@ to_tsquery('simple', ?)", []any{match}, err
	}
	cond, args := spelledOut(whole, words)
	return cond, args, nil
}

// hitsSearch is the condition that collects a PostgreSQL search's matches
// through the GIN index. A prefix term makes GIN read the whole posting
// list of every word it prefixes ("gutter quo" reads all of "quote", in
// nearly every conversation). When a whole word of the search is much
// rarer than what its prefix matches, the index looks up the whole words
// only, and the full query checks the rows it finds (ts_match_vq is @@ in
// a form no index serves). Otherwise it is the full query. See
// docs/PERFORMANCE.md for what each costs.
func hitsSearch(terms []string, freq map[string]float64, rare float64) (exact string, ok bool) {
	if len(terms) < 2 {
		return "", false
	}
	whole, prefix := terms[:len(terms)-1], terms[len(terms)-1]
	least := 1.0
	for _, t := range whole {
		f, listed := freq[t]
		if !listed {
			f = rare
		}
		least = min(least, f)
	}
	prefixed := 0.0
	for w, f := range freq {
		if strings.HasPrefix(w, prefix) {
			prefixed += f
		}
	}
	// A table read per row costs a few times what a posting does.
	if 4*least > prefixed {
		return "", false
	}
	return strings.Join(whole, " & "), true
}

// maxPrefixWords bounds how many whole words a prefix is spelled out as:
// GIN reads each word's posting list, so past a few dozen the prefix scan
// (one bitmap of them all) costs no more.
const maxPrefixWords = 32

// prefixWords returns every word of the search documents (the search_words
// table, migration 00016) that prefix starts, so that the hits plan can
// look them up as whole words. ok is false when there are more than
// maxPrefixWords, or when PostgreSQL would not read prefix as that one
// word (its lower-casing, or its parser, differs from searchTerms'): the
// words listed would not be the ones the prefix matches.
//
// The words are read a moment before the hits: a document committed in
// between with a word new to every document is missed, as if the search
// had run a moment earlier. The lookup is a range of search_words_word.
func (db *DB) prefixWords(ctx context.Context, prefix string) (words []string, ok bool, err error) {
	var parsed string
	var found pq.StringArray
	err = db.db.QueryRowContext(ctx, `SELECT to_tsquery('simple', $1)::text, ARRAY(SELECT DISTINCT word FROM search_words
WHERE word >= $2 AND word < $3 ORDER BY word LIMIT $4)`, prefix+":*", prefix, prefix+"\U0010FFFF", maxPrefixWords+1).Scan(&parsed, &found)
	if err != nil {
		return nil, false, translate(err)
	}
	if parsed != tsqueryWord(prefix)+":*" || len(found) > maxPrefixWords {
		return nil, false, nil
	}
	return found, true, nil
}

// anyOf is a tsquery (input syntax, no parsing or lower-casing) matching a
// document with any of words.
func anyOf(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = tsqueryWord(w)
	}
	return "(" + strings.Join(quoted, " | ") + ")"
}

// tsqueryWord quotes a word as a tsquery lexeme: a quote doubled, a
// backslash escaped.
func tsqueryWord(w string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(w) + "'"
}
