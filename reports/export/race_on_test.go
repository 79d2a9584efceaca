//go:build race

package export_test

// flatRows is how many rows the memory test writes: fewer under the race
// detector, which makes every write many times slower.
const flatRows = 50_000
