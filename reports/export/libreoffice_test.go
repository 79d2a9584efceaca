package export_test

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/reports/export"
)

// TestXLSXOpensInLibreOffice converts an XLSX export to CSV with
// LibreOffice, headless, and reads the cells back: what a spreadsheet
// user opens is what was exported. Without LibreOffice it is skipped
// loudly (a failure under CI=true, where .ci/run installs it).
func TestXLSXOpensInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("LibreOffice (soffice) is required under CI=true: apt-get install libreoffice-calc-nogui")
		}
		t.Skip("SKIPPING: LibreOffice (soffice) is not installed; the XLSX is not checked against a spreadsheet")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "export.xlsx")
	if err := os.WriteFile(in, write(t, export.XLSX, rowsOf()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A private profile: a user's LibreOffice profile (or another test's)
	// must not be locked or changed.
	cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", dir, in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "export.csv"))
	if err != nil {
		t.Fatalf("LibreOffice wrote no CSV: %v", err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("LibreOffice's CSV: %v", err)
	}
	if len(got) != 3 || strings.Join(got[0], ",") != strings.Join(columns, ",") {
		t.Fatalf("LibreOffice read %d rows, header %q; want the header and two rows", len(got), got[0])
	}
	row := got[1]
	if row[0] != "1" || row[1] != tricky || row[2] != "10.30" || row[3] != "TRUE" {
		t.Errorf("first row as LibreOffice reads it: %q", row)
	}
	if row[4] != "2026-03-01T09:30:00Z" || row[5] != `{"amount":"10.30","currency":"USD"}` || row[6] != "" {
		t.Errorf("time, metadata and empty cells as LibreOffice reads them: %q", row[4:])
	}
	if got[2][3] != "FALSE" || got[2][1] != "" {
		t.Errorf("second row as LibreOffice reads it: %q", got[2])
	}
}
