//go:build !race

package export_test

// flatRows is how many rows the memory test writes.
const flatRows = 200_000
