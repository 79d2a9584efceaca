// Segment counting follows CARRIERS.md §8, which is taken from Twilio's
// message-segment-calculator (the tool Twilio points customers to for "how
// many segments will this cost").
//
// Grapheme clusters come from github.com/rivo/uniseg. The GSM-7 alphabet is a
// table written out here from CARRIERS.md §8 rather than imported: the
// library we meant to use, github.com/warthog618/sms/encoding/gsm7, is not
// served by the Go module proxy Parley builds against, so it cannot be a
// dependency. Its default charset agrees with ours (Ç and the Greek capitals
// ΓΔΘΛΞΠΣΦΨΩ are in, the backtick is out); if it ever becomes available,
// swapping it in must keep TestSegmentGSM7Alphabet passing.
//
// Where we knowingly differ from the calculator:
//   - It treats any grapheme of two or more UTF-16 units as non-GSM, so
//     "\r\n" (one grapheme) turns a message into UCS-2. Both CR and LF are in
//     the GSM-7 basic set and the encoding is chosen per character, so a
//     Windows line break stays GSM-7 here.
//   - When it adds the header to the first part of a UCS-2 message it drops
//     characters while the part has "<= 0" bits free, leaving that part 66
//     units rather than the 67 that fit in 140 octets less the 6-octet UDH.
//     We use 67, as CARRIERS.md does.
//   - A single grapheme larger than a whole part (a letter with dozens of
//     combining marks, a very long emoji ZWJ sequence) cannot be kept whole,
//     so it is split between code points; escape pairs and surrogate pairs are
//     still never split.
//
// Invalid UTF-8 counts as U+FFFD (not GSM-7, one UTF-16 unit), which is what
// a JSON decoder would have turned it into before it reached us.

package conversations

import "github.com/rivo/uniseg"

// Encoding names.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segmentation is how a body travels as SMS.
type Segmentation struct {
	Segments   int    // number of SMS parts (0 for an empty body)
	Encoding   string // EncodingGSM7 or EncodingUCS2
	Characters int    // user-perceived characters (grapheme clusters)
	Units      int    // septets (GSM-7) or UTF-16 code units (UCS-2) the body takes
}

// Part capacities in septets (GSM-7) or UTF-16 code units (UCS-2). A part is
// 140 octets; a concatenated part gives 6 of them to the user data header.
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// The GSM 03.38 default alphabet as CARRIERS.md §8 lists it: the basic set
// (127 characters, one septet each) and the extension set (two septets each:
// ESC plus the character).
const (
	gsm7Basic = "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" +
		"¡£¤¥§¿ÄÅÆÉÑÖØÜßàäåæÇèéìñòöøùü" +
		"ΓΔΘΛΞΠΣΦΨΩ"
	gsm7Extension = "\f^{}\\[~]|€"
)

// gsm7Table holds the septets for every rune below U+03AA (Ω is the highest
// code point in the alphabet apart from €); 0 means not GSM-7.
var gsm7Table = func() (t [0x3aa]uint8) {
	for _, r := range gsm7Basic {
		t[r] = 1
	}
	for _, r := range gsm7Extension {
		if r < rune(len(t)) {
			t[r] = 2
		}
	}
	return t
}()

// gsm7Septets returns how many septets r takes in GSM-7, or 0 if r has no
// GSM-7 encoding.
func gsm7Septets(r rune) int {
	if r >= 0 && r < rune(len(gsm7Table)) {
		return int(gsm7Table[r])
	}
	if r == '€' {
		return 2
	}
	return 0
}

// ucs2Units returns how many UTF-16 code units r takes: 2 outside the BMP.
func ucs2Units(r rune) int {
	if r > 0xffff {
		return 2
	}
	return 1
}

// Segment computes the segmentation of body exactly as Twilio counts it (no
// smart encoding). Parley shows the result to staff while they type and on
// each sent message, because carriers bill per segment: one curly apostrophe
// pasted from a word processor halves what fits in a part, and staff should
// see that before they press send, not on the invoice.
func Segment(body string) Segmentation {
	s := Segmentation{Encoding: EncodingGSM7}
	if body == "" {
		return s
	}

	size, single, part := gsm7Septets, gsm7Single, gsm7Part
	for _, r := range body {
		if gsm7Septets(r) == 0 {
			s.Encoding = EncodingUCS2
			size, single, part = ucs2Units, ucs2Single, ucs2Part
			break
		}
	}

	// Fill parts greedily with whole graphemes. used counts the units in
	// the current concatenated part; it only matters once the body turns
	// out not to fit a single part, but computing it on the way costs less
	// than a second pass.
	s.Segments = 1
	used := 0
	state := -1
	for rest := body; rest != ""; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		s.Characters++

		n := 0
		for _, r := range cluster {
			n += size(r)
		}
		s.Units += n

		switch {
		case used+n <= part:
			used += n
		case n <= part:
			s.Segments++
			used = n
		default:
			// Larger than a whole part: split between code points.
			for _, r := range cluster {
				u := size(r)
				if used+u > part {
					s.Segments++
					used = 0
				}
				used += u
			}
		}
	}
	if s.Units <= single {
		s.Segments = 1
	}
	return s
}
