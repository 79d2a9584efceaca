package conversations_test

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

var e164 = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // "" means rejected as EINVALID
	}{
		{"E.164", "+14155550100", "+14155550100"},
		{"US with parentheses", "(415) 555-0100", "+14155550100"},
		{"US with dots", "415.555.0100", "+14155550100"},
		{"US national, digits only", "4155550100", "+14155550100"},
		{"US with country code, no plus", "14155550100", "+14155550100"},
		{"US with spaces around", "  +1 415 555 0100\t", "+14155550100"},
		{"US with en dashes", "415–555–0100", "+14155550100"},
		{"full-width digits", "＋１ ４１５ ５５５ ０１００", "+14155550100"},
		{"UK with spaces", "+44 20 7946 0958", "+442079460958"},
		{"UK with 00 prefix", "0044 20 7946 0958", "+442079460958"},
		{"UK with US 011 prefix", "011 44 20 7946 0958", "+442079460958"},
		{"UK with trunk zero in brackets", "+44 (0)20 7946 0958", "+442079460958"},
		{"UK mobile, no plus (Vonage)", "447911123456", "+447911123456"},
		{"France mobile, no plus", "33612345678", "+33612345678"},
		{"India", "+91 98765 43210", "+919876543210"},
		{"Caribbean NANP", "+1 876 927 1234", "+18769271234"},

		{"WhatsApp address", "whatsapp:+14155550100", ""},
		{"tel URI", "tel:+1-415-555-0100", ""},
		{"short code", "12345", ""},
		{"alphanumeric sender", "MyBrand", ""},
		{"word", "hello", ""},
		{"vanity number", "1-800-FLOWERS", ""},
		{"extension", "+1 415 555 0100 ext 5", ""},
		{"extension after #", "+1 415 555 0100 #5", ""},
		{"extension after comma", "(415) 555-0100,5", ""},
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"plus only", "+", ""},
		{"UK national without country code", "020 7946 0958", ""},
		{"invalid US area code", "+1 000 000 0000", ""},
		{"too many digits", "+1415555010012345678", ""},
		{"valid to libphonenumber, over 15 digits", "+4921000000000000", ""},
		{"two numbers", "+14155550100 / +14155550101", ""},
		{"very long", strings.Repeat("1", 100), ""},
	}
	// Twice: the second pass meets the numbers the first remembered.
	for _, tt := range append(tests, tests...) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := conversations.NormalizePhone(tt.raw)
			if tt.want == "" {
				if !parley.IsKind(err, parley.EINVALID) {
					t.Errorf("NormalizePhone(%q) = %q, %v; want an EINVALID error", tt.raw, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	file, err := os.Open("../testdata/phones.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	if err := sc.Err(); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		out, err := conversations.NormalizePhone(raw)
		if err != nil {
			if !parley.IsKind(err, parley.EINVALID) {
				t.Fatalf("NormalizePhone(%q) error %v is not EINVALID", raw, err)
			}
			return
		}
		if !e164.MatchString(out) {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", raw, out)
		}
		again, err := conversations.NormalizePhone(out)
		if err != nil || again != out {
			t.Fatalf("NormalizePhone(%q) = %q, but NormalizePhone(%q) = %q, %v", raw, out, out, again, err)
		}
	})
}

// Inbound senders that are not phone numbers keep their own kinds of
// address (CARRIERS.md §9): a short code and a sender ID make threads;
// neither can be texted back from a number.
func TestNormalizeSender(t *testing.T) {
	for _, tt := range []struct {
		raw, want string
		textable  bool
	}{
		{"+14155550100", "+14155550100", true},
		{"14155550100", "+14155550100", true},
		{"22395", "22395", false},
		{" 898211 ", "898211", false},
		{"ACMEBANK", "ACMEBANK", false},
		{"Acme 24", "Acme 24", false},
	} {
		got, err := conversations.NormalizeSender(tt.raw)
		if err != nil || got != tt.want || conversations.Textable(got) != tt.textable {
			t.Errorf("NormalizeSender(%q) = %q, %v, textable %v; want %q, textable %v", tt.raw, got, err, conversations.Textable(got), tt.want, tt.textable)
		}
	}
	// Vonage and Plivo leave out the "+": their digits are an
	// international number, whatever DefaultRegion would make of them.
	for raw, want := range map[string]string{"6592345678": "+6592345678", "3212345678": "+3212345678", "14155550100": "+14155550100",
		"22395": "22395", "ACMEBANK": "ACMEBANK"} {
		if got, err := conversations.NormalizeIntlSender(raw); err != nil || got != want {
			t.Errorf("NormalizeIntlSender(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "12", "whatsapp:+14155550100", "ACME!", "ACMEBANKLTD1", "123456789", "a@b.c"} {
		if got, err := conversations.NormalizeSender(raw); err == nil {
			t.Errorf("NormalizeSender(%q) = %q; want an error", raw, got)
		}
	}
}
