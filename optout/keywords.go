// Package optout holds the consent rules: which texts are opt-out, opt-in
// and help keywords, and the account-wide consent register.
package optout

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/parleyhq/parley"
)

// Intent is what a text asks for.
type Intent string

// Intents a text can carry. IntentNone is an ordinary message.
const (
	IntentNone   Intent = ""
	IntentOptOut Intent = "opt_out"
	IntentOptIn  Intent = "opt_in"
	IntentHelp   Intent = "help"
)

// maxBodyBytes bounds the work done on one text. It is the longest
// concatenated SMS carriers deliver; no keyword comes near it, so a longer
// text is never a keyword and is not worth normalising.
const maxBodyBytes = 1600

// Keywords are an account's keyword lists. A text is a keyword only when
// the whole text is one, ignoring case, surrounding whitespace,
// punctuation and emoji (see Match).
type Keywords struct {
	OptOut []string `json:"opt_out"`
	OptIn  []string `json:"opt_in"`
	Help   []string `json:"help"`
}

// DefaultKeywords returns a new account's lists: the CTIA and Twilio
// opt-out set plus the FCC's REVOKE and OPTOUT, and the standard opt-in
// and help words. Each call returns fresh slices, so editing one account's
// lists never changes another's.
func DefaultKeywords() Keywords {
	return Keywords{
		OptOut: []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"},
		OptIn:  []string{"START", "SUBSCRIBE", "UNSTOP", "YES"},
		Help:   []string{"HELP", "INFO"},
	}
}

// Language is a language pack's code. English is always on: its lists are
// an account's own Keywords. Spanish is a pack an account may switch on
// besides.
type Language string

// Languages with a pack.
const (
	English Language = "en"
	Spanish Language = "es"
)

var languageNames = map[Language]string{English: "English", Spanish: "Spanish"}

// DefaultSpanishKeywords returns the Spanish pack's lists, written with
// their accents; Spanish matching ignores them, so "no mas" is NO MÁS and
// "si" is SÍ. Each call returns fresh slices.
func DefaultSpanishKeywords() Keywords {
	return Keywords{
		OptOut: []string{"PARAR", "ALTO", "CANCELAR", "BAJA", "DETENER", "NO MÁS"},
		OptIn:  []string{"INICIAR", "SÍ", "ALTA"},
		Help:   []string{"AYUDA"},
	}
}

// Pack is one language's keyword lists, to match and validate several
// languages together (CompilePacks, ValidatePacks).
type Pack struct {
	Language Language
	Keywords Keywords
}

// ignoresAccents reports whether the language's keywords match with or
// without the accents of its vowels. Spanish texts often come without
// them (phone keyboards, habit), and no Spanish keyword differs from
// another by an accent alone. Other languages keep them: in some, they
// tell words apart, and an account wants both spellings if its contacts
// drop them.
func (l Language) ignoresAccents() bool { return l == Spanish }

// form is the form in which the pack compares kw with texts: normalize's,
// without accents when the language ignores them.
func (p Pack) form(kw string) string {
	form := normalize(kw)
	if p.Language.ignoresAccents() {
		form = stripAccents(form)
	}
	return form
}

// Match reports the intent of a whole text and the keyword it matched, as
// written in the list (e.g. "STOP" for "stop!"). It returns IntentNone and
// "" when the text is not exactly a keyword: "don't stop" and "stop by at
// 5" are ordinary messages. To match many texts, Compile once instead.
func (k Keywords) Match(body string) (Intent, string) {
	return k.Compile().Match(body)
}

// Validate reports an EINVALID error naming the list ("opt_out", "opt_in"
// or "help") that has an empty keyword, a keyword that is only punctuation
// or emoji (it could never match, since matching ignores those), or a
// keyword that another list already has (the text's intent would be
// ambiguous). An empty opt-out list is invalid too: carriers require that
// STOP works, and a settings change that leaves the list out must not
// silently switch opt-outs off.
func (k Keywords) Validate() error {
	return validatePacks([]Pack{{English, k}}, func(_ Language, list string) string { return list })
}

// ValidatePacks validates each pack as Validate does, and refuses a
// keyword that two packs share, with or without accents: the reply's
// language would be ambiguous. It names the fields "<language>.<list>",
// e.g. "es.opt_out"; a shared keyword is reported in both packs.
func ValidatePacks(packs ...Pack) error {
	return validatePacks(packs, func(l Language, list string) string { return string(l) + "." + list })
}

func validatePacks(packs []Pack, field func(Language, string) string) error {
	fields := map[string]string{}
	fail := func(l Language, list, msg string) { // the first problem of a list is told
		if f := field(l, list); fields[f] == "" {
			fields[f] = msg
		}
	}
	for _, p := range packs {
		owner := map[string]Intent{} // the pack's keyword forms -> list that has it
		for _, l := range p.Keywords.lists() {
			if msg := p.problem(l, owner); msg != "" {
				fail(p.Language, l.field, msg)
			}
		}
	}
	// A keyword two languages share, compared without accents, since
	// Spanish matching ignores them.
	type first struct {
		lang    Language
		list    list
		keyword string
	}
	seen := map[string]first{}
	for _, p := range packs {
		for _, l := range p.Keywords.lists() {
			for _, kw := range l.keywords {
				bare := stripAccents(normalize(kw))
				if bare == "" {
					continue
				}
				o, ok := seen[bare]
				switch {
				case !ok:
					seen[bare] = first{p.Language, l, kw}
				case o.lang != p.Language:
					fail(p.Language, l.field, fmt.Sprintf("%q is already %s keyword in %s", kw, intentNames[o.list.intent], languageNames[o.lang]))
					fail(o.lang, o.list.field, fmt.Sprintf("%q is also %s keyword in %s", o.keyword, intentNames[l.intent], languageNames[p.Language]))
				}
			}
		}
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// problem explains the list's first bad keyword, or returns "". It records
// each good keyword's form in owner, to catch one in two lists.
func (p Pack) problem(l list, owner map[string]Intent) string {
	if l.intent == IntentOptOut && len(l.keywords) == 0 {
		return "must list at least one keyword, or no text could opt out"
	}
	for _, kw := range l.keywords {
		form := p.form(kw)
		switch {
		case strings.TrimSpace(kw) == "":
			return "must not contain an empty keyword"
		case len(kw) > maxBodyBytes:
			return fmt.Sprintf("keywords must be at most %d bytes", maxBodyBytes)
		case form == "":
			return fmt.Sprintf("%q is only punctuation, symbols or emoji, which matching ignores", kw)
		case owner[form] != "" && owner[form] != l.intent:
			return fmt.Sprintf("%q is already %s keyword", kw, intentNames[owner[form]])
		}
		owner[form] = l.intent
	}
	return ""
}

var intentNames = map[Intent]string{IntentOptOut: "an opt-out", IntentOptIn: "an opt-in", IntentHelp: "a help"}

// list is one of an account's lists with its intent and JSON field name.
type list struct {
	intent   Intent
	field    string
	keywords []string
}

// lists returns the lists in order of precedence, for a keyword in two
// lists: Validate rejects that, but Match must not depend on Validate
// having run. Opt-out wins because texting someone who asked to stop is
// the costly mistake; help beats opt-in because a help reply changes no
// consent.
func (k Keywords) lists() []list {
	return []list{
		{IntentOptOut, "opt_out", k.OptOut},
		{IntentHelp, "help", k.Help},
		{IntentOptIn, "opt_in", k.OptIn},
	}
}

// Matcher is a compiled Keywords, or several languages' (CompilePacks):
// matching a text costs one normalisation and a map lookup or two. The
// zero Matcher matches nothing. It is safe for concurrent use.
type Matcher struct {
	byForm map[string]Hit
	// bare holds the keywords of languages that ignore accents, by their
	// form without them.
	bare map[string]Hit
}

// Hit is what a text matched: its intent, the keyword as written in the
// list and the keyword's language. The zero Hit is an ordinary message.
type Hit struct {
	Intent   Intent
	Keyword  string
	Language Language
}

// Compile normalises every keyword once, for matching many texts. The
// lists are English's: a Hit's language is English.
func (k Keywords) Compile() Matcher {
	return CompilePacks(Pack{English, k})
}

// CompilePacks compiles several languages' lists into one Matcher. A text
// is looked up first as written in the packs that compare accents, then
// without accents in those that ignore them; a keyword in two packs
// (ValidatePacks refuses that) goes to the earlier pack of a kind.
func CompilePacks(packs ...Pack) Matcher {
	m := Matcher{byForm: map[string]Hit{}}
	for _, p := range packs {
		into := m.byForm
		if p.Language.ignoresAccents() {
			if m.bare == nil {
				m.bare = map[string]Hit{}
			}
			into = m.bare
		}
		for _, l := range p.Keywords.lists() {
			for _, kw := range l.keywords {
				form := p.form(kw)
				if _, taken := into[form]; form == "" || taken {
					continue // unmatchable, or an earlier list or spelling wins
				}
				into[form] = Hit{l.intent, kw, p.Language}
			}
		}
	}
	return m
}

// Match is Keywords.Match with the keywords already normalised.
func (m Matcher) Match(body string) (Intent, string) {
	hit := m.Lookup(body)
	return hit.Intent, hit.Keyword
}

// Lookup is Match that also tells the keyword's language.
func (m Matcher) Lookup(body string) Hit {
	form := normalize(body)
	if form == "" {
		return Hit{}
	}
	if hit, ok := m.byForm[form]; ok {
		return hit
	}
	if m.bare != nil {
		return m.bare[stripAccents(form)]
	}
	return Hit{}
}

// normalize returns the form in which texts and keywords are compared:
// surrounding whitespace, punctuation and emoji removed, NFKC-normalised
// (so full-width "ＳＴＯＰ" is "stop"), case-folded, invisible format
// characters dropped and inner whitespace runs collapsed to one space. It
// returns "" for a text with nothing left or too long to be a keyword.
//
// Inner punctuation stays: "opt-out" is not "opt out" and "s.t.o.p" is
// not "stop", because splitting words on punctuation would also turn
// "don't stop" into something closer to a keyword.
func normalize(s string) string {
	core := strings.TrimFunc(s, ignorable)
	if core == "" || len(core) > maxBodyBytes {
		return ""
	}
	// Trim again: NFKC can turn a character into punctuation, e.g. "⒈"
	// into "1.".
	return strings.TrimFunc(squeeze(foldCase(core)), ignorable)
}

// foldCase NFKC-normalises and case-folds s. Most texts are ASCII, where
// NFKC changes nothing and folding is lowercasing, so they skip the
// tables.
func foldCase(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	// Folding can leave a string that is no longer NFKC (e.g. U+0345
	// folds to a letter that composes differently), so normalise again.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// squeeze drops invisible format characters (zero-width spaces and joiners,
// variation selectors), which a reader cannot see, and collapses each run
// of whitespace to one space, so "opt   out" is "opt out".
func squeeze(s string) string {
	if isSqueezed(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case invisible(r):
		case unicode.IsSpace(r):
			space = true
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stripAccents removes the accents of Spanish vowels (á é í ó ú ü) from a
// normalised form, in which they are lowercase and composed. Ñ stays: it
// is a letter of its own.
func stripAccents(form string) string {
	if isASCII(form) {
		return form
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case 'á':
			return 'a'
		case 'é':
			return 'e'
		case 'í':
			return 'i'
		case 'ó':
			return 'o'
		case 'ú', 'ü':
			return 'u'
		}
		return r
	}, form)
}

// isSqueezed reports, without allocating, whether squeeze would return an
// ASCII s unchanged: single spaces and no other whitespace, as in most texts.
func isSqueezed(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ' && i > 0 && s[i-1] == ' ':
			return false
		}
	}
	return true
}

// ignorable reports whether r may surround a keyword without changing it:
// whitespace, punctuation, symbols (which include most emoji), the
// invisible pieces emoji are built from (joiners, variation selectors, the
// keycap mark, tags) and control characters. Invalid UTF-8 decodes to
// U+FFFD, a symbol, so a stray broken byte after "STOP" still leaves STOP.
func ignorable(r rune) bool {
	if r < utf8.RuneSelf {
		// Every ASCII character but letters and digits is a space, a
		// control, punctuation or a symbol; skip the tables.
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	return unicode.IsSpace(r) || invisible(r) ||
		unicode.In(r, unicode.P, unicode.S, unicode.Cc, unicode.Me)
}

// invisible reports whether r is a format character or variation
// selector: it renders as nothing, so a person who typed it sees no
// difference.
func invisible(r rune) bool {
	return r >= utf8.RuneSelf && unicode.In(r, unicode.Cf, unicode.Variation_Selector)
}
