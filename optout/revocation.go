package optout

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Revocation is why a text reads like a revocation of consent.
type Revocation struct {
	// Rule is the stable id of the rule that matched, e.g.
	// "stop-contacting"; revocation_rules.go lists them all. It is stored
	// with the flag and shown in the API, so an id never changes meaning.
	Rule string
	// Reason is one short sentence for staff quoting the matched words
	// as written, e.g. `Says they don't want the texts: "don't want any
	// more messages"`. It is valid UTF-8 and at most maxReasonBytes long.
	Reason string
}

// LooksLikeRevocation reports whether RecogniseRevocation flags the text.
func LooksLikeRevocation(body string) bool { _, ok := RecogniseRevocation(body); return ok }

// RecogniseRevocation reports whether a text that is not itself a keyword
// reads like a request to stop contact: "please stop texting me", "I
// don't want any more messages", "take me off your list", "wrong
// number", "STOP. Who is this?", "dejen de escribirme". The FCC lets a
// person revoke consent "by any reasonable means" (47 CFR
// 64.1200(a)(10)), not only by keyword, so such texts must reach a
// person. It returns the rule that matched first, reading the text from
// its start (of rules matching at the same word, the longest match), and
// why.
//
// It is a flag for staff, never an opt-out by itself. Phrases are
// ambiguous ("remove me from the 3pm slot", "stop texting me so early"),
// and consent, once revoked, can only come back from the contact texting
// START: a wrong guess would silence a customer who never asked for it,
// with nothing staff could do. A person reading the flag can record the
// opt-out in one step.
//
// The two mistakes cost differently, and that sets the balance: a false
// flag silences nobody but costs a person a look, while a miss can mean
// texting someone who said no, a TCPA violation. So the rules lean to
// recall, and the labelled corpus in testdata/ holds them to at least
// 95% of revocations caught and at most 2% of ordinary texts flagged.
//
// The rules are hand-written phrase patterns (revocation_rules.go), not a
// trained classifier: no NLP library or model fits a pure Go function
// that must run on every inbound text, and a rule can be read, tested and
// explained line by line: the flag names the rule and quotes the words
// that matched, so staff see why, and a missed or false flag can be
// traced to one line. English and Spanish rules both always run: a
// contact may write in Spanish to an account that never enabled it, and
// its revocation counts all the same. Spanish rule ids start with "es-".
//
// The text is case-folded, split into clauses at sentence punctuation,
// line breaks and emoji (phrases never run across sentences), and into
// words. A phrase right after a negation does not count ("don't stop
// texting me", "I can't stop laughing"), nor one asked about the past
// ("why did you stop texting me?"). The work is linear in the text and
// bounded: each rule is tried at each word with a lookahead of a few
// words, and at most maxBodyBytes from each end of a very long text are
// read (see text.read).
func RecogniseRevocation(body string) (Revocation, bool) {
	return recognise(body, nil)
}

// matchStats counts the work of one recognise call, for the linear-time
// test; production calls pass nil.
type matchStats struct {
	checks int // word tests: one rule slot against one word
}

func recognise(body string, st *matchStats) (Revocation, bool) {
	var t text
	t.read(body)
	for _, c := range t.clauses {
		if m, ok := c.find(t.words[c.lo:c.hi], st); ok {
			words := t.words[c.lo:c.hi]
			quote := quoteSpan(body[words[m.start].start:words[m.end-1].end])
			return Revocation{Rule: m.rule.id, Reason: reasons[m.rule.id] + ` "` + quote + `"`}, true
		}
	}
	return Revocation{}, false
}

// maxQuoteBytes bounds the quoted words in a Reason, and maxReasonBytes
// the whole Reason: the longest sentence before the quote is 36 bytes.
const (
	maxQuoteBytes  = 60
	maxReasonBytes = 100
)

// quoteSpan returns the matched words as written, for a Reason: spaces
// collapsed, invisible characters dropped, and cut to maxQuoteBytes with
// an ellipsis.
func quoteSpan(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case invisible(r):
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	q := b.String()
	if len(q) <= maxQuoteBytes {
		return q
	}
	cut := maxQuoteBytes - len("…")
	for cut > 0 && !utf8.RuneStart(q[cut]) {
		cut--
	}
	return strings.TrimRight(q[:cut], " ") + "…"
}

// A word of a text: its matching key and where it stands in the text.
type word struct {
	key        string    // case-folded, apostrophes and accents dropped: "don’t" is "dont", "Envíen" is "envien"
	lex        *lexEntry // what the rules know of the key
	start, end int       // byte offsets in the text as written
}

// A clause is a run of words between sentence punctuation.
type clause struct {
	lo, hi int // its words are text.words[lo:hi]
	// cutStart and cutEnd are set when the clause was cut by the bound on
	// a long text: the clause did not really start or end there, so "^"
	// and "$" do not match at that end.
	cutStart, cutEnd bool
}

// text is a text split into clauses of words.
type text struct {
	words   []word
	clauses []clause
}

// read splits body into clauses. A text of at most 2*maxBodyBytes (the
// longest a carrier delivers, 1600 characters, is at most 6400 bytes)
// is read whole; of a longer one, only the first and the last
// maxBodyBytes, since a revocation in a long text sits at its start or
// its end ("Stop texting me. [a long complaint]"), and the work must stay
// small whatever arrives. The cuts end clauses, and a word cut in two is
// dropped.
func (t *text) read(body string) {
	// Room for a word every 4 bytes, more than most texts need, so a text
	// is split with one allocation of each slice.
	read := min(len(body), 2*maxBodyBytes)
	t.words = make([]word, 0, read/4+2)
	t.clauses = make([]clause, 0, read/24+2)
	if len(body) <= 2*maxBodyBytes {
		t.split(body, 0, cuts{})
		return
	}
	head := maxBodyBytes
	for !utf8.RuneStart(body[head]) {
		head--
	}
	tail := len(body) - maxBodyBytes
	for !utf8.RuneStart(body[tail]) {
		tail++
	}
	t.split(body[:head], 0, cuts{end: true, wordEnd: midWord(body, head)})
	t.split(body[tail:], tail, cuts{start: true, wordStart: midWord(body, tail)})
}

// cuts says where a piece of a text was cut from a longer one: at its
// start or end, and whether inside a word there.
type cuts struct{ start, end, wordStart, wordEnd bool }

// midWord reports whether offset i of s falls inside a word.
func midWord(s string, i int) bool {
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[i:])
	return inWord(before) && inWord(after)
}

// split appends the clauses of s, which starts at byte offset off of the
// text. A clause at a cut is marked as cut, and a word cut in two is
// dropped.
func (t *text) split(s string, off int, cut cuts) {
	first := len(t.clauses)
	lo := len(t.words)
	wordStart := -1
	flushWord := func(end int) {
		if wordStart < 0 {
			return
		}
		w := s[wordStart:end]
		start := wordStart
		wordStart = -1
		if cut.wordStart && start == 0 {
			return // the tail of a word cut in two
		}
		if cut.wordEnd && end == len(s) {
			return // the head of a word cut in two
		}
		if key := wordKey(w); key != "" {
			lex, ok := lexicon[key]
			if !ok {
				lex = unknownWord
			}
			t.words = append(t.words, word{key: key, lex: lex, start: off + start, end: off + end})
		}
	}
	flushClause := func() {
		if len(t.words) > lo {
			t.clauses = append(t.clauses, clause{lo: lo, hi: len(t.words)})
		}
		lo = len(t.words)
	}
	for i, r := range s {
		switch {
		case inWord(r):
			if wordStart < 0 {
				wordStart = i
			}
		case endsClause(r):
			flushWord(i)
			flushClause()
		default:
			flushWord(i)
		}
	}
	flushWord(len(s))
	flushClause()
	if len(t.clauses) > first {
		t.clauses[first].cutStart = cut.start
		t.clauses[len(t.clauses)-1].cutEnd = cut.end
	}
}

// inWord reports whether r belongs to a word: letters, digits, marks,
// apostrophes ("don't" is one word) and "#" ("wrong #").
func inWord(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '\'' || r == '`' || r == '#'
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.M) || isApostrophe(r)
}

// endsClause reports whether r ends a clause: sentence punctuation,
// brackets, quotes, dashes, controls (line breaks) and symbols, which
// include emoji and U+FFFD, so an invalid byte ends a clause too.
// Full-width punctuation counts as its ASCII form. Hyphens do not end a
// clause: "opt-out" is two words of one clause.
func endsClause(r rune) bool {
	if r < utf8.RuneSelf {
		return r < ' ' || r == 0x7F || strings.IndexByte(".,;:!?\"()[]", byte(r)) >= 0
	}
	if 0xFF01 <= r && r <= 0xFF5E {
		r -= 0xFF01 - '!' // full-width ASCII
	}
	return strings.ContainsRune(".,;:!?¡¿…\"“”«»。、()[]–—•", r) || unicode.In(r, unicode.Cc, unicode.So)
}

func isApostrophe(r rune) bool { return strings.ContainsRune("'’‘ʼ`´", r) }

// wordKey returns the form in which a word is matched: case-folded (NFKC,
// so full-width "ＳＴＯＰ" is "stop"), with apostrophes dropped ("don't"
// and "dont" are both "dont") and accents dropped ("más" and "mas" are
// both "mas"). Most words are lowercase ASCII, returned as they are.
func wordKey(w string) string {
	if isASCII(w) {
		if !needsLowering(w) {
			return w
		}
		b := make([]byte, 0, len(w))
		for i := 0; i < len(w); i++ {
			c := w[i]
			switch {
			case c == '\'' || c == '`':
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			default:
				b = append(b, c)
			}
		}
		return string(b)
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(foldCase(w)) {
		if unicode.Is(unicode.Mn, r) || isApostrophe(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// needsLowering reports whether an ASCII word has capitals or apostrophes.
func needsLowering(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; 'A' <= c && c <= 'Z' || c == '\'' || c == '`' {
			return true
		}
	}
	return false
}
