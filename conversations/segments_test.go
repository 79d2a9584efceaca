package conversations_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parleyhq/parley/conversations"
)

const (
	family = "👨\u200d👩\u200d👧\u200d👦" // 4 emoji × 2 units + 3 ZWJ × 1 = 11 UTF-16 units, one character
	smiley = "😀"                      // U+1F600, a surrogate pair: 2 units
)

func TestSegment(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name string
		body string
		want conversations.Segmentation
	}{
		{"empty body", "", conversations.Segmentation{Segments: 0, Encoding: conversations.EncodingGSM7}},
		{"short GSM text", "See you at 3pm!", seg(1, "GSM-7", 15, 15)},

		// GSM-7: one part holds 160 septets; concatenated parts 153 each.
		{"160 GSM chars fill one part", r("a", 160), seg(1, "GSM-7", 160, 160)},
		{"161 GSM chars need two parts", r("a", 161), seg(2, "GSM-7", 161, 161)},
		{"306 GSM chars fill two parts", r("a", 306), seg(2, "GSM-7", 306, 306)}, // 2 × 153
		{"307 GSM chars need three parts", r("a", 307), seg(3, "GSM-7", 307, 307)},

		// € is ESC + 0x65: 2 septets but one character.
		{"euro reaching 160 septets", r("a", 158) + "€", seg(1, "GSM-7", 159, 160)},
		{"euro pushing past 160 septets", r("a", 159) + "€", seg(2, "GSM-7", 160, 161)},
		{"euro ending a full concatenated part", r("a", 151) + "€" + r("b", 153), seg(2, "GSM-7", 305, 306)},
		// Part 1 has 152 a's and one septet free; € needs two, so the whole
		// escape pair opens part 2 (€ + 151 b = 153) and the last b opens
		// part 3. Dividing 306 septets by 153 would wrongly say 2.
		{"escape pair never straddles a part", r("a", 152) + "€" + r("b", 152), seg(3, "GSM-7", 305, 306)},
		{"every extension character is 2 septets", "\f^{}\\[~]|€", seg(1, "GSM-7", 10, 20)},
		{"80 braces are 160 septets", r("{", 80), seg(1, "GSM-7", 80, 160)},
		// 153 is odd, so a part of braces holds 76 (152 septets): 81 braces
		// are 162 septets > 160, parts of 76 + 5.
		{"81 braces split 76 + 5", r("{", 81), seg(2, "GSM-7", 81, 162)},

		// UCS-2: one part holds 70 units; concatenated parts 67 each.
		{"70 UCS-2 chars fill one part", r("ж", 70), seg(1, "UCS-2", 70, 70)},
		{"71 UCS-2 chars need two parts", r("ж", 71), seg(2, "UCS-2", 71, 71)},
		{"134 UCS-2 chars fill two parts", r("ж", 134), seg(2, "UCS-2", 134, 134)},
		{"135 UCS-2 chars need three parts", r("ж", 135), seg(3, "UCS-2", 135, 135)},

		// Emoji outside the BMP are surrogate pairs: 2 units each.
		{"one emoji", smiley, seg(1, "UCS-2", 1, 2)},
		{"35 emoji fill one part", r(smiley, 35), seg(1, "UCS-2", 35, 70)},
		{"36 emoji need two parts", r(smiley, 36), seg(2, "UCS-2", 36, 72)},
		// A part fits 33 pairs (66 units); the 67th unit would split a pair.
		// 67 emoji = 134 units, which 134/67 would call 2, are 33+33+1.
		{"surrogate pair never straddles a part", r(smiley, 67), seg(3, "UCS-2", 67, 134)},
		{"one GSM letter plus an emoji", "a" + smiley, seg(1, "UCS-2", 2, 3)},

		// A ZWJ family is one character of 11 units, kept in one part.
		{"family emoji is one character", family, seg(1, "UCS-2", 1, 11)},
		{"six families fit one part", r(family, 6), seg(1, "UCS-2", 6, 66)},
		// 57 ж leave 10 units in part 1, too few for the family (11), so it
		// opens part 2 with 56 ж (11 + 56 = 67) and 4 ж spill into part 3.
		// 128 units / 67 would say 2.
		{"family emoji never split", r("ж", 57) + family + r("ж", 60), seg(3, "UCS-2", 118, 128)},
		{"flag is one character", "🇵🇹", seg(1, "UCS-2", 1, 4)},

		// One non-GSM character makes the whole message UCS-2.
		{"curly apostrophe forces UCS-2", "It’s here", seg(1, "UCS-2", 9, 9)},
		{"curly apostrophe in 100 chars costs 2 parts", r("a", 99) + "’", seg(2, "UCS-2", 100, 100)},
		{"straight apostrophe stays GSM-7", r("a", 99) + "'", seg(1, "GSM-7", 100, 100)},
		{"backtick forces UCS-2", "run `make`", seg(1, "UCS-2", 10, 10)},
		{"em dash forces UCS-2", "a—b", seg(1, "UCS-2", 3, 3)},
		{"no-break space forces UCS-2", "a\u00a0b", seg(1, "UCS-2", 3, 3)},
		{"Greek capitals stay GSM-7", "ΓΔΘΛΞΠΣΦΨΩ", seg(1, "GSM-7", 10, 10)},
		{"Greek small letter forces UCS-2", "ΣΩα", seg(1, "UCS-2", 3, 3)},
		{"C cedilla capital stays GSM-7", "ÇA VA", seg(1, "GSM-7", 5, 5)},
		{"c cedilla small forces UCS-2", "ça va", seg(1, "UCS-2", 5, 5)},
		{"euro in UCS-2 is one unit", "€" + smiley, seg(1, "UCS-2", 2, 3)},

		// CR LF is one grapheme but two GSM-7 characters.
		{"CRLF stays GSM-7", "Hi\r\nBye", seg(1, "GSM-7", 6, 7)},

		// A grapheme bigger than a part cannot stay whole: e + 100
		// combining acute accents is 101 units, split 67 + 34.
		{"oversized grapheme is split between code points", "e" + r("\u0301", 100), seg(2, "UCS-2", 1, 101)},

		// Twilio accepts bodies up to 1600 characters.
		// GSM-7: 1600 = 10 × 153 + 70, so 11 parts.
		{"1600 GSM chars", r("x", 1600), seg(11, "GSM-7", 1600, 1600)},
		// UCS-2: 1600 = 23 × 67 + 59, so 24 parts.
		{"1600 UCS-2 chars", r("ж", 1600), seg(24, "UCS-2", 1600, 1600)},
		// 1599 GSM + one ’: the same length costs 24 parts instead of 11.
		{"1600 chars with one curly apostrophe", r("x", 1599) + "’", seg(24, "UCS-2", 1600, 1600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conversations.Segment(tt.body); got != tt.want {
				t.Errorf("Segment(%.40q) = %+v; want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func seg(segments int, encoding string, characters, units int) conversations.Segmentation {
	return conversations.Segmentation{Segments: segments, Encoding: encoding, Characters: characters, Units: units}
}

// The GSM-7 alphabet as 3GPP TS 23.038 tables it, written out again here in
// code-point order (0x00-0x7F with ESC at 0x1B left out, then the extension
// table) so that a slip in either this or segments.go's copy shows up.
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "\f^{}\\[~]|€"
)

func TestSegmentGSM7Alphabet(t *testing.T) {
	if n := utf8.RuneCountInString(gsm7Basic); n != 127 {
		t.Fatalf("basic set has %d characters; want 127", n)
	}
	for _, r := range gsm7Basic {
		if got := conversations.Segment(string(r)); got.Encoding != conversations.EncodingGSM7 || got.Units != 1 {
			t.Errorf("Segment(%q) = %+v; want GSM-7, 1 septet", r, got)
		}
	}
	for _, r := range gsm7Extension {
		if got := conversations.Segment(string(r)); got.Encoding != conversations.EncodingGSM7 || got.Units != 2 {
			t.Errorf("Segment(%q) = %+v; want GSM-7, 2 septets", r, got)
		}
	}
	// Every other code point up to U+21FF (which takes in the backtick,
	// ç, small Greek, NBSP and the ’ “ — … people paste) forces UCS-2.
	for r := rune(0); r < 0x2200; r++ {
		if strings.ContainsRune(gsm7Basic+gsm7Extension, r) {
			continue
		}
		if got := conversations.Segment(string(r)); got.Encoding != conversations.EncodingUCS2 {
			t.Errorf("Segment(%U) = %+v; want UCS-2", r, got)
		}
	}
}

// seedBodies returns the fuzz seeds in testdata/segments: each line of the
// .txt files, and each .body file whole (for bodies with line breaks).
func seedBodies(tb testing.TB) []string {
	tb.Helper()
	var bodies []string
	lists, _ := filepath.Glob("../testdata/segments/*.txt")
	for _, name := range lists {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		bodies = append(bodies, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	whole, _ := filepath.Glob("../testdata/segments/*.body")
	for _, name := range whole {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	if len(bodies) == 0 {
		tb.Fatal("no fuzz seeds in testdata/segments")
	}
	return bodies
}

func FuzzSegment(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body, "a")
	}
	f.Add(strings.Repeat("a", 152)+"€", "b")
	f.Add(strings.Repeat("ж", 66), smiley)
	f.Add("👨\u200d", "👩")
	f.Add("🇵", "🇹")

	f.Fuzz(func(t *testing.T, body, more string) {
		got := conversations.Segment(body)
		checkSegmentation(t, body, got)

		// Appending a character never makes a text cheaper.
		r, _ := utf8.DecodeRuneInString(more)
		longer := body + string(r)
		after := conversations.Segment(longer)
		checkSegmentation(t, longer, after)
		if after.Segments < got.Segments {
			t.Fatalf("Segment(%q).Segments = %d but Segment(%q).Segments = %d", body, got.Segments, longer, after.Segments)
		}
	})
}

func checkSegmentation(t *testing.T, body string, got conversations.Segmentation) {
	t.Helper()
	if body == "" {
		if got != (conversations.Segmentation{Encoding: conversations.EncodingGSM7}) {
			t.Fatalf("Segment(%q) = %+v; want 0 segments, GSM-7", body, got)
		}
		return
	}
	if got.Segments < 1 || got.Characters < 1 || got.Units < got.Characters {
		t.Fatalf("Segment(%q) = %+v; want at least one segment, character and unit each", body, got)
	}

	// Work out encoding and units independently of segments.go: the
	// 3GPP alphabet above, and unicode/utf16 for UCS-2.
	wantEnc, single, part := conversations.EncodingGSM7, 160, 153
	septets := 0
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			septets++
		case strings.ContainsRune(gsm7Extension, r):
			septets += 2
		default:
			wantEnc, single, part = conversations.EncodingUCS2, 70, 67
		}
	}
	wantUnits := septets
	if wantEnc == conversations.EncodingUCS2 {
		wantUnits = len(utf16.Encode([]rune(body)))
	}
	if got.Encoding != wantEnc || got.Units != wantUnits {
		t.Fatalf("Segment(%q) = %+v; want %s, %d units", body, got, wantEnc, wantUnits)
	}

	switch {
	case got.Units <= single:
		if got.Segments != 1 {
			t.Fatalf("Segment(%q) = %+v; %d units fit one part", body, got, got.Units)
		}
	default:
		if got.Segments*part < got.Units {
			t.Fatalf("Segment(%q) = %+v; %d parts of %d cannot hold %d units", body, got, got.Segments, part, got.Units)
		}
	}
}

func BenchmarkSegment(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"GSM-7 160", strings.Repeat("Hello there ", 13) + "Hiya"},
		{"GSM-7 1600", strings.Repeat("Your appointment is confirmed {ref}. ", 43)},
		{"UCS-2 1600", strings.Repeat("Ваша запись подтверждена 😀 ", 57)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				conversations.Segment(bb.body)
			}
		})
	}
}
