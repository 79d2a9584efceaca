package optout

import (
	"slices"
	"strings"
	"unicode"
)

// LooksLikeRevocation reports whether a text that is not itself a keyword
// reads like a request to stop texting: "please stop texting me",
// "unsubscribe me", "take me off your list", "STOP. Who is this?". The FCC
// lets a person revoke consent by "any reasonable means", not only by
// keyword, so such texts must reach a person.
//
// It is a flag for staff, never an opt-out by itself. Phrases are
// ambiguous ("remove me from the 3pm slot", "stop texting me so early"),
// and consent, once revoked, can only come back from the contact texting
// START: a wrong guess would silence a customer who never asked for it,
// with nothing staff could do. A person reading the flag can record the
// opt-out in one step. The rules are plain English phrase patterns, listed
// below so a missed or false flag can be traced to one line.
func LooksLikeRevocation(body string) bool {
	for _, words := range clauses(foldCase(body)) {
		if isKeywordClause(words) || hasRevocationPhrase(words) {
			return true
		}
	}
	return false
}

// isKeywordClause reports whether a clause is only unambiguous opt-out
// keywords and politeness: "Stop please", "STOP STOP STOP", "just
// unsubscribe". CANCEL, END and QUIT are left out: "Cancel, I'll
// reschedule" is about an appointment, not the texts.
func isKeywordClause(words []string) bool {
	found := false
	for _, w := range words {
		switch {
		case slices.Contains(clauseKeywords, w):
			found = true
		case !slices.Contains(politeness, w):
			return false
		}
	}
	return found
}

var (
	clauseKeywords = []string{"stop", "stopall", "unsubscribe", "optout", "revoke"}
	politeness     = []string{"please", "pls", "plz", "just", "now", "thanks", "thx", "ty", "ok", "okay"}
)

// A phrase is a run of words; each position lists the words that may
// stand there.
type phrase [][]string

// Word classes the phrases are made of.
var (
	stopVerbs    = []string{"stop", "quit", "cease"}
	contactVerbs = []string{"texting", "text", "txting", "txt", "messaging", "message", "msging", "msg",
		"contacting", "contact", "calling", "call", "sending", "send", "emailing", "spamming", "bothering", "harassing"}
	dontVerbs   = []string{"text", "txt", "message", "msg", "contact", "email"}
	recipients  = []string{"me", "us"}
	numbers     = []string{"number", "phone", "cell"}
	textNouns   = []string{"texts", "text", "txts", "messages", "message", "msgs", "sms"}
	determiners = []string{"the", "these", "those", "all", "your", "ur"}
	negations   = []string{"don't", "dont", "not", "never", "can't", "cant", "won't", "wont", "didn't", "didnt"}
)

// revocationPhrases are the patterns, each with an example it catches.
var revocationPhrases = []phrase{
	{stopVerbs, contactVerbs, recipients},                          // "stop texting me", "quit messaging us"
	{stopVerbs, contactVerbs, {"this", "my", "our"}, numbers},      // "stop calling this number"
	{stopVerbs, textNouns},                                         // "stop messages please"
	{stopVerbs, determiners, textNouns},                            // "stop these texts"
	{stopVerbs, {"sending", "send"}, textNouns},                    // "stop sending messages"
	{{"don't", "dont", "never"}, dontVerbs, recipients},            // "don't text me anymore"
	{{"do"}, {"not"}, dontVerbs, recipients},                       // "do not contact me"
	{{"unsubscribe"}},                                              // "unsubscribe me", "how do I unsubscribe"
	{{"optout"}},                                                   // "I want to optout"
	{{"opt"}, {"out"}},                                             // "I'd like to opt out", "Opt-Out"
	{{"opt"}, recipients, {"out"}},                                 // "opt me out"
	{{"remove", "delete"}, recipients},                             // "remove me from your list"
	{{"take"}, recipients, {"off"}},                                // "take me off your list"
	{{"remove", "delete", "take", "lose"}, {"my", "our"}, numbers}, // "lose my number"
	{{"leave"}, recipients, {"alone"}},                             // "leave me alone"
	{{"no"}, {"more"}, textNouns},                                  // "no more texts"
	{{"wrong"}, {"number"}},                                        // "wrong number": whoever has this phone never agreed
}

// hasRevocationPhrase reports whether a clause contains a phrase that is
// not negated by the word before it ("don't stop texting me").
func hasRevocationPhrase(words []string) bool {
	for i := range words {
		if i > 0 && slices.Contains(negations, words[i-1]) {
			continue
		}
		for _, p := range revocationPhrases {
			if p.at(words, i) {
				return true
			}
		}
	}
	return false
}

// at reports whether the phrase starts at words[i].
func (p phrase) at(words []string, i int) bool {
	if i+len(p) > len(words) {
		return false
	}
	for j, alternatives := range p {
		if !slices.Contains(alternatives, words[i+j]) {
			return false
		}
	}
	return true
}

// clauses splits a case-folded text at sentence punctuation, line breaks
// and emoji, and each clause into words, so "Stop. Who is this?" has the
// clause "stop" and phrases do not run across sentences. Hyphens and
// apostrophes do not split: "don't" stays one word, and "opt-out" is
// two words of one clause.
func clauses(s string) [][]string {
	var out [][]string
	for _, c := range strings.FieldsFunc(s, endsClause) {
		if words := splitWords(c); len(words) > 0 {
			out = append(out, words)
		}
	}
	return out
}

func endsClause(r rune) bool {
	return strings.ContainsRune(".,;:!?¡¿…\"“”«»。、()[]", r) || unicode.In(r, unicode.Cc, unicode.So)
}

// splitWords splits a clause into words of letters, digits, marks and
// apostrophes; typographic apostrophes count as "'" so "don’t" is "don't".
func splitWords(clause string) []string {
	fields := strings.FieldsFunc(clause, func(r rune) bool {
		return !(unicode.In(r, unicode.L, unicode.N, unicode.M) || isApostrophe(r))
	})
	words := fields[:0]
	for _, f := range fields {
		if w := strings.Trim(strings.Map(straightApostrophe, f), "'"); w != "" {
			words = append(words, w)
		}
	}
	return words
}

func isApostrophe(r rune) bool { return strings.ContainsRune("'’‘ʼ`´", r) }

func straightApostrophe(r rune) rune {
	if isApostrophe(r) {
		return '\''
	}
	return r
}
