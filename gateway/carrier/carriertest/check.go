package carriertest

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Fixture reads testdata/{carrierName}/{name} of the repository: real-shaped
// webhooks of that carrier.
func Fixture(t testing.TB, carrierName, name string) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0) // gateway/carrier/carriertest/check.go
	root := filepath.Join(filepath.Dir(here), "..", "..", "..")
	b, err := os.ReadFile(filepath.Join(root, "testdata", carrierName, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CheckReport fails t when an adapter read a webhook into an error that is
// not Parley's (every refusal must say its HTTP status), or into what
// Parley cannot store or apply: a text without its id or sender, text
// PostgreSQL refuses, a media URL that is not one, a part that cannot be
// joined; a receipt without its id or with a status Parley does not know.
// Fuzz targets call it on whatever they read.
func CheckReport(t testing.TB, rep carrier.Report, err error) {
	t.Helper()
	if err != nil {
		var pe *parley.Error
		if !errors.As(err, &pe) {
			t.Fatalf("an error that is not Parley's: %v", err)
		}
		return
	}
	for _, tx := range rep.Texts {
		if tx.CarrierMessageID == "" || tx.From == "" || carrier.BadText(tx.Body) != "" {
			t.Fatalf("read a text Parley cannot store: %+v", tx)
		}
		for _, u := range tx.MediaURLs {
			if !carrier.IsMediaURL(u) {
				t.Fatalf("read a media URL that is not one: %q", u)
			}
		}
		if p := tx.Part; p != nil && (p.Ref == "" || p.Number < 1 || p.Number > p.Total || p.Total > conversations.MaxTextParts) {
			t.Fatalf("read a part Parley cannot join: %+v", p)
		}
	}
	for _, rc := range rep.Statuses {
		if rc.CarrierMessageID == "" || rc.Status.Rank() == 0 || rc.ErrorCode < 0 {
			t.Fatalf("read a receipt Parley cannot apply: %+v", rc)
		}
	}
}
