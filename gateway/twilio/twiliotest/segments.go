package twiliotest

import "unicode/utf16"

// gsmBasic and gsmExtension are the GSM 03.38 character sets (CARRIERS.md §8).
// Extension characters take two septets because they are sent after an escape.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// countSegments estimates how many SMS parts body is billed as. It follows
// the encoding rule (one non-GSM character makes the whole text UCS-2) but
// not the rule against splitting escape or surrogate pairs across parts, so
// it can be one short near a boundary: good enough for a fake carrier.
func countSegments(body string) int {
	units, single, multi := gsmLength(body), 160, 153
	if units < 0 {
		units, single, multi = len(utf16.Encode([]rune(body))), 70, 67
	}
	if units <= single {
		return 1
	}
	return (units + multi - 1) / multi
}

// gsmSeptets maps each GSM-7 character to the septets it takes.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, len(gsmBasic)+len(gsmExtension))
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmLength is body's length in GSM-7 septets, or -1 when body needs UCS-2.
func gsmLength(body string) int {
	n := 0
	for _, r := range body {
		septets, ok := gsmSeptets[r]
		if !ok {
			return -1
		}
		n += septets
	}
	return n
}
