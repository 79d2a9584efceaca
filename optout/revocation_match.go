package optout

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// The phrase machinery: each rule is a pattern of words, written as one
// line of text, compiled once into slots and matched by following every
// way through the slots at once (a set of positions, as a bit mask), so a
// match costs at most one test per slot per word and never backtracks.
//
// Pattern syntax, tokens separated by spaces:
//
//	stop          the word "stop" (in key form: lowercase, no apostrophes or accents)
//	stop|quit     one of the words
//	@stop         one of the words of the class "stop" (see classes)
//	_             any one word
//	x?            optionally x
//	x*3           up to three words, each x ("@quantity*3": "any more of these")
//	$             the end of the clause
//	^             the start of the clause
//	!x            the next word, if any, is not x (it is not consumed)
//
// The lookahead of a rule is bounded by its number of word slots, so
// trying every rule at every word is linear in the length of the text.

// setMask is a set of word sets: bit k is set when the word is in set k of
// the compiled rules. A word's mask comes from one map lookup (lexicon);
// testing a word against a slot is then one AND.
type setMask [8]uint64

func (b *setMask) add(k int) { b[k/64] |= 1 << (k % 64) }

func (b *setMask) or(o *setMask) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b *setMask) meets(o *setMask) bool {
	for i := range b {
		if b[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

type slotKind uint8

const (
	slotWord  slotKind = iota // one word of set (any word if anyWord)
	slotEnd                   // $
	slotStart                 // ^
	slotNot                   // !set
)

type slot struct {
	kind     slotKind
	set      setMask
	anyWord  bool
	optional bool
}

// language is the language of a rule: its negations are that language's.
type language uint8

const (
	english language = iota
	spanish
)

// A ruleDef is a rule as written: its id ("" for a guard), an example it
// catches and its pattern.
type ruleDef struct {
	id, example, pattern string
}

// rule is a compiled ruleDef.
type rule struct {
	ruleDef
	lang     language
	slots    []slot
	first    setMask // the words a match can start with
	firstAny bool
}

// maxSlots bounds a pattern: positions are bits of a uint64, the last one
// the accepting position.
const maxSlots = 63

// compiler interns word sets: each distinct set gets a bit.
type compiler struct {
	classes map[string][]string
	sets    map[string]int // canonical form (sorted words) -> bit
	lexicon map[string]setMask
}

func newCompiler(classes map[string][]string) *compiler {
	return &compiler{classes: classes, sets: map[string]int{}, lexicon: map[string]setMask{}}
}

// set returns the mask of the set of words written as alternatives, e.g.
// "stop|@cease".
func (c *compiler) set(alternatives string) (setMask, error) {
	var words []string
	for _, alt := range strings.Split(alternatives, "|") {
		switch {
		case strings.HasPrefix(alt, "@"):
			class, ok := c.classes[alt[1:]]
			if !ok {
				return setMask{}, fmt.Errorf("no class %q", alt)
			}
			words = append(words, class...)
		case alt == "" || wordKey(alt) != alt || strings.ContainsFunc(alt, func(r rune) bool { return !inWord(r) }):
			return setMask{}, fmt.Errorf("%q is not a word in key form", alt)
		default:
			words = append(words, alt)
		}
	}
	slices.Sort(words)
	words = slices.Compact(words)
	canonical := strings.Join(words, "|")
	k, ok := c.sets[canonical]
	if !ok {
		k = len(c.sets)
		if k >= len(setMask{})*64 {
			return setMask{}, fmt.Errorf("more than %d distinct word sets", len(setMask{})*64)
		}
		c.sets[canonical] = k
		for _, w := range words {
			b := c.lexicon[w]
			b.add(k)
			c.lexicon[w] = b
		}
	}
	var b setMask
	b.add(k)
	return b, nil
}

// compile parses a rule's pattern.
func (c *compiler) compile(def ruleDef, lang language) (rule, error) {
	r := rule{ruleDef: def, lang: lang}
	for _, tok := range strings.Fields(def.pattern) {
		switch {
		case tok == "$":
			r.slots = append(r.slots, slot{kind: slotEnd})
			continue
		case tok == "^":
			r.slots = append(r.slots, slot{kind: slotStart})
			continue
		case strings.HasPrefix(tok, "!"):
			set, err := c.set(tok[1:])
			if err != nil {
				return r, fmt.Errorf("pattern %q: %w", def.pattern, err)
			}
			r.slots = append(r.slots, slot{kind: slotNot, set: set})
			continue
		}
		min, max := 1, 1
		if t, ok := strings.CutSuffix(tok, "?"); ok {
			tok, min = t, 0
		} else if i := strings.LastIndex(tok, "*"); i >= 0 {
			n, err := strconv.Atoi(tok[i+1:])
			if err != nil || n < 1 || n > 9 {
				return r, fmt.Errorf("pattern %q: bad repeat in %q", def.pattern, tok)
			}
			tok, min, max = tok[:i], 0, n
		}
		s := slot{kind: slotWord}
		if tok == "_" {
			s.anyWord = true
		} else {
			set, err := c.set(tok)
			if err != nil {
				return r, fmt.Errorf("pattern %q: %w", def.pattern, err)
			}
			s.set = set
		}
		for i := range max {
			s.optional = i >= min
			r.slots = append(r.slots, s)
		}
	}
	if len(r.slots) > maxSlots {
		return r, fmt.Errorf("pattern %q: more than %d slots", def.pattern, maxSlots)
	}
	// The words a match can start with: those of every word slot reached
	// through optional slots and assertions.
	required := false
	for _, s := range r.slots {
		if s.kind != slotWord {
			continue
		}
		r.first.or(&s.set)
		r.firstAny = r.firstAny || s.anyWord
		if !s.optional {
			required = true
			break
		}
	}
	if !required {
		return r, fmt.Errorf("pattern %q: matches no words", def.pattern)
	}
	return r, nil
}

// wordSlots is the number of word slots: the most words a match spans.
func (r *rule) wordSlots() int {
	n := 0
	for _, s := range r.slots {
		if s.kind == slotWord {
			n++
		}
	}
	return n
}

// match returns the end of the longest match of the rule starting at
// words[i] of a clause, or -1.
func (r *rule) match(words []word, i int, c clause, st *matchStats) int {
	accept := uint64(1) << len(r.slots)
	at := r.closure(1, words, i, c)
	last := -1
	for p := i; p < len(words) && at&^accept != 0; p++ {
		var next uint64
		for live := at &^ accept; live != 0; live &= live - 1 {
			s := bits.TrailingZeros64(live)
			sl := &r.slots[s]
			if sl.kind != slotWord {
				continue
			}
			if st != nil {
				st.checks++
			}
			if sl.anyWord || sl.set.meets(&words[p].lex.class) {
				next |= 1 << (s + 1)
			}
		}
		at = r.closure(next, words, p+1, c)
		if at&accept != 0 {
			last = p + 1
		}
	}
	return last
}

// closure adds to the positions at those reachable without consuming the
// word at p: past optional slots, and past assertions that hold at p.
// Positions only move forward, so one pass in order is enough.
func (r *rule) closure(at uint64, words []word, p int, c clause) uint64 {
	for s := range r.slots {
		if at&(1<<s) == 0 {
			continue
		}
		sl := &r.slots[s]
		var pass bool
		switch sl.kind {
		case slotWord:
			pass = sl.optional
		case slotEnd:
			pass = p == len(words) && !c.cutEnd
		case slotStart:
			pass = p == 0 && !c.cutStart
		case slotNot:
			pass = p == len(words) || !sl.set.meets(&words[p].lex.class)
		}
		if pass {
			at |= 1 << (s + 1)
		}
	}
	return at
}

// A found match: the rule and the words it spans, words[start:end].
type found struct {
	rule       *rule
	start, end int
}

// find returns the leftmost match in a clause: of the rules matching at
// its first word, the one with the longest match, and of those the first
// in the table. Only the rules that can start with a word are tried
// there (see lexEntry). Guards are tried first at each word: a guard's
// words start no rule ("I gave you the wrong number"). A rule does not
// start right after a negation (see isNegated).
func (c clause) find(words []word, st *matchStats) (found, bool) {
	guarded := 0 // words before this are in a guard
	for i := range words {
		lex := words[i].lex
		for _, g := range lex.guards {
			if end := guards[g].tryAt(words, i, c, st); end > guarded {
				guarded = end
			}
		}
		if i < guarded {
			continue
		}
		best := found{end: -1}
		negated := [2]int8{-1, -1} // per language: unknown, no, yes
		for _, ri := range lex.rules {
			r := &rules[ri]
			if negated[r.lang] < 0 {
				negated[r.lang] = 0
				if isNegated(words, i, r.lang) {
					negated[r.lang] = 1
				}
			}
			if negated[r.lang] == 1 {
				continue
			}
			if end := r.tryAt(words, i, c, st); end > best.end {
				best = found{r, i, end}
			}
		}
		if best.rule != nil {
			return best, true
		}
	}
	return found{}, false
}

// tryAt returns the end of the rule's longest match at words[i], or -1.
func (r *rule) tryAt(words []word, i int, c clause, st *matchStats) int {
	if st != nil {
		st.checks++ // the rule is a candidate for the word
	}
	return r.match(words, i, c, st)
}

// lexEntry is what the rules know of a word: the sets it is in, and the
// rules and guards a match can start with it, in table order.
type lexEntry struct {
	class         setMask
	rules, guards []int32
}

// startingWith returns the indexes of the rules whose match can start
// with a word in class.
func startingWith(list []rule, class *setMask) []int32 {
	var out []int32
	for i := range list {
		if list[i].firstAny || list[i].first.meets(class) {
			out = append(out, int32(i))
		}
	}
	return out
}

// isNegated reports whether a phrase starting at words[i] is negated in
// the language: a negation stands before it, perhaps with up to three
// bridging words between ("don't stop", "don't ever stop", "don't want
// you to stop"), and no "why" or "if" before the negation ("why won't you
// stop texting me", "if you don't stop texting me" are revocations). A
// question about the past is treated alike: "why did you stop texting
// me?" asks why the texts stopped.
func isNegated(words []word, i int, lang language) bool {
	n := &negation[lang]
	for j, bridged := i-1, 0; j >= 0 && bridged <= 3; j, bridged = j-1, bridged+1 {
		w := &words[j].lex.class
		switch {
		case bridged > 0 && w.meets(&n.past):
			return true
		case w.meets(&n.negation):
			k := j - 1
			if k >= 0 && words[k].lex.class.meets(&n.you) {
				k--
			}
			return k < 0 || !words[k].lex.class.meets(&n.unless)
		case !w.meets(&n.bridge):
			return false
		}
	}
	return false
}
