package optout

import (
	"strings"
	"testing"
)

func TestLooksLikeRevocation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"please stop texting me", "please stop texting me", true},
		{"shouted with punctuation", "STOP TEXTING ME!!!", true},
		{"stop messaging me", "stop messaging me", true},
		{"quit calling us", "Quit calling us", true},
		{"cease contacting me", "Cease contacting me immediately.", true},
		{"stop sending me", "Stop sending me these", true},
		{"stop sending messages", "can you stop sending messages", true},
		{"stop these texts", "Please stop these texts", true},
		{"stop calling this number", "stop calling this number", true},
		{"unsubscribe me", "unsubscribe me", true},
		{"asks how to unsubscribe", "How do I unsubscribe?", true},
		{"remove me", "Remove me from your list", true},
		{"take me off", "take me off your list", true},
		{"opt me out", "Opt me out please", true},
		{"wants to opt out", "I would like to opt out", true},
		{"hyphenated opt-out", "Opt-Out", true},
		{"don't text me", "don't text me anymore", true},
		{"curly apostrophe", "Don’t text me anymore", true},
		{"dont without apostrophe", "dont message me", true},
		{"do not contact", "Do not contact me again", true},
		{"leave me alone", "leave me alone", true},
		{"no more texts", "No more texts please", true},
		{"lose my number", "lose my number", true},
		{"wrong number", "Sorry, wrong number", true},
		{"stop then a question", "STOP. Who is this?", true},
		{"stop after a comment", "Who is this? Stop", true},
		{"stop please", "Stop please", true},
		{"repeated stop", "STOP STOP STOP", true},
		{"stop with emoji then words", "stop 🛑 this is annoying", true},
		{"across a line break", "Hi\nplease stop messaging me", true},

		{"don't stop", "don't stop", false},
		{"stop by", "stop by at 5", false},
		{"can't stop laughing", "I can't stop laughing", false},
		{"stop by tomorrow", "can you stop by tomorrow?", false},
		{"please stop by", "Please stop by the front desk", false},
		{"don't stop texting", "please don't stop texting me, I love the deals", false},
		{"cancel an appointment", "Cancel, I'll reschedule next week", false},
		{"the end", "The end.", false},
		{"take me to", "Can you take me at 4 instead?", false},
		{"message you", "I'll text you when I'm outside", false},
		{"thanks", "Thanks! See you at 3", false},
		{"emoji", "👍", false},
		{"empty", "", false},
		{"invalid UTF-8", "\xff\xfe\xfd", false},
		{"invalid UTF-8 around a revocation", "\xffplease stop texting me\xfe", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeRevocation(tt.body); got != tt.want {
				t.Errorf("LooksLikeRevocation(%q) = %v; want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestLooksLikeRevocationLongText(t *testing.T) {
	body := strings.Repeat("Thanks for the reminder. ", 400) + "Please stop texting me."
	if !LooksLikeRevocation(body) {
		t.Error("missed a revocation at the end of a long text")
	}
}

func FuzzLooksLikeRevocation(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		LooksLikeRevocation(body) // must not panic
	})
}
