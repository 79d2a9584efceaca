package outcomes

import (
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"
)

// Money is an exact amount: whole minor units of an ISO 4217 currency
// (cents for USD, yen for JPY, fils for KWD). Amounts are never floats:
// sums are of integers, per currency, and never across currencies.
type Money struct {
	Units    int64  // minor units
	Currency string // ISO 4217, upper case
}

// maxAmount bounds an amount (in major units) so that sums of many stay
// far inside int64 minor units.
var maxAmount = decimal.New(1, 12)

// ParseMoney reads an amount given as a decimal string (or a JSON number's
// text) in a currency. It returns nil for neither; an error message for
// each field that is wrong, keyed by field name ("amount", "currency").
// Both or neither must be given, and the amount may have no more decimals
// than the currency has minor units ("0.105" USD is refused, not rounded).
func ParseMoney(amount, cur string) (*Money, map[string]string) {
	amount, cur = strings.TrimSpace(amount), strings.TrimSpace(cur)
	switch {
	case amount == "" && cur == "":
		return nil, nil
	case amount == "":
		return nil, map[string]string{"amount": "is required with currency"}
	case cur == "":
		return nil, map[string]string{"currency": "is required with amount"}
	}
	unit, err := currency.ParseISO(cur)
	if err != nil || strings.ToUpper(cur) != cur || len(cur) != 3 {
		return nil, map[string]string{"currency": "must be an ISO 4217 code such as USD or EUR"}
	}
	d, err := decimal.NewFromString(amount)
	if err != nil || strings.ContainsAny(amount, "eE") {
		return nil, map[string]string{"amount": `must be a decimal string such as "5000.00"`}
	}
	if d.IsNegative() || d.GreaterThanOrEqual(maxAmount) {
		return nil, map[string]string{"amount": "must be from 0 to 999999999999.99"}
	}
	scale := Scale(unit.String())
	minor := d.Shift(scale)
	if !minor.IsInteger() {
		return nil, map[string]string{"amount": "has more decimals than " + cur + " has minor units"}
	}
	return &Money{Units: minor.IntPart(), Currency: unit.String()}, nil
}

// Scale is how many decimals a currency's minor unit has (2 for USD, 0
// for JPY, 3 for KWD).
func Scale(cur string) int32 {
	unit, err := currency.ParseISO(cur)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return int32(scale)
}

// String is the amount as a decimal string with the currency's decimals:
// "5000.00", "0.30", "1200" for JPY.
func (m Money) String() string { return FormatUnits(m.Units, m.Currency) }

// FormatUnits writes minor units of a currency as a decimal string; a sum
// of Money.Units of one currency is written with it.
func FormatUnits(units int64, cur string) string {
	scale := Scale(cur)
	return decimal.New(units, -scale).StringFixed(scale)
}
