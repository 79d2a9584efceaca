package optout

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// compiled keeps the Matchers of the keyword lists in use. Compiling
// normalises every keyword (about 47 µs for the English and Spanish
// defaults), where an inbound text's lookup costs a few; accounts share a
// handful of lists, most of them the defaults.
var compiled, _ = lru.New[string, Matcher](1024)

// MatcherFor is CompilePacks, kept by the packs' contents: a changed
// list is a new key, so a change takes effect with the next text.
func MatcherFor(packs ...Pack) Matcher {
	key := packsKey(packs)
	if m, ok := compiled.Get(key); ok {
		return m
	}
	m := CompilePacks(packs...)
	compiled.Add(key, m)
	return m
}

// packsKey spells out the packs, separating what no keyword contains
// (control characters are not matchable text).
func packsKey(packs []Pack) string {
	var b strings.Builder
	for _, p := range packs {
		b.WriteString(string(p.Language))
		for _, l := range p.Keywords.lists() {
			b.WriteByte('\x1d')
			for _, kw := range l.keywords {
				b.WriteString(kw)
				b.WriteByte('\x1f')
			}
		}
		b.WriteByte('\x1e')
	}
	return b.String()
}
