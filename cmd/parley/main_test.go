package main

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store/storetest"
)

// childEnv, set to 1, makes the test binary run the real program instead
// of the tests: end-to-end tests that need Parley as an OS process of its
// own (one they can SIGKILL) re-execute the test binary with it, the
// program's arguments (e.g. "serve") and PARLEY_* settings.
const childEnv = "PARLEY_E2E_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main() // exits non-zero itself on failure
		os.Exit(0)
	}
	// Sign-ins in tests need not cost a quarter of a second of CPU each.
	conversations.PasswordCost = bcrypt.MinCost
	storetest.Main(m)
}
