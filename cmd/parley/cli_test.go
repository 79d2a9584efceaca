package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// runCLI runs the program with args and no environment.
func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, getenvFrom(nil), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCommandHelpListsThatCommandsFlags(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"serve", "-h"}, []string{"usage: parley serve", "-addr", "-public-url", "PARLEY_OUTBOX_LEASE"}, nil},
		{[]string{"migrate", "--help"}, []string{"usage: parley migrate", "-database-url"}, []string{"-addr", "-public-url"}},
		{[]string{"account", "create", "-h"}, []string{"usage: parley account create --name NAME [--email EMAIL] [--token TOKEN]", "-email", "-database-url"},
			[]string{"-addr", "-public-url", "-bootstrap-token", "-outbox-lease"}},
		{[]string{"version", "-h"}, []string{"usage: parley version [--json]", "-json"}, []string{"-database-url"}},
		{[]string{"dev", "seed", "-h"}, []string{"usage: parley dev seed", "-conversations"}, []string{"-addr"}},
		{[]string{"bench", "-h"}, []string{"usage: parley bench", "-clients"}, []string{"-addr", "-bootstrap-token"}},
	} {
		stdout, stderr, err := runCLI(tt.args...)
		if err != nil || stderr != "" {
			t.Errorf("parley %s: err %v, stderr %q; want success with the usage on stdout", strings.Join(tt.args, " "), err, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("parley %s: no %q in\n%s", strings.Join(tt.args, " "), w, stdout)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(stdout, n+" ") {
				t.Errorf("parley %s lists %s, a flag of another command:\n%s", strings.Join(tt.args, " "), n, stdout)
			}
		}
	}
}

func TestTopLevelHelpListsTheCommands(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		stdout, _, err := runCLI(arg)
		if err != nil || !strings.Contains(stdout, "account create --name NAME") || !strings.Contains(stdout, "version [--json]") {
			t.Errorf("parley %s: %v\n%s", arg, err, stdout)
		}
	}
}

func TestUnknownCommandsAreNamed(t *testing.T) {
	for _, tt := range []struct {
		args []string
		name string
	}{
		{[]string{"frobnicate"}, `"frobnicate"`},
		{[]string{"account", "delete"}, `"account delete"`},
		{[]string{"dev", "frob"}, `"dev frob"`},
	} {
		stdout, stderr, err := runCLI(tt.args...)
		if err == nil || stdout != "" {
			t.Errorf("parley %s succeeded or wrote to stdout: %v %q", strings.Join(tt.args, " "), err, stdout)
		}
		if !strings.Contains(stderr, "unknown command "+tt.name) || !strings.Contains(stderr, "serve ") {
			t.Errorf("parley %s: want the unknown command named and the commands listed, got\n%s", strings.Join(tt.args, " "), stderr)
		}
	}
	if _, stderr, err := runCLI("serve", "--no-such-flag"); err == nil || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("a bad flag: %v %q", err, stderr)
	}
}

func TestVersionPrintsTheBuild(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info")
	}
	want := buildVersion("", info).Version
	stdout, _, err := runCLI("version")
	if err != nil || stdout != "parley "+want+" ("+runtime.Version()+")\n" && !strings.HasPrefix(stdout, "parley "+want+" (revision ") {
		t.Errorf("parley version = %v %q, want the module version %q and the build's details", err, stdout, want)
	}
	stdout, _, err = runCLI("version", "--json")
	var v map[string]any
	if err != nil || json.Unmarshal([]byte(stdout), &v) != nil || v["version"] != want || v["go"] != runtime.Version() {
		t.Errorf("parley version --json = %v %q, want a JSON object with version %q and go %q", err, stdout, want, runtime.Version())
	}
}

func TestVersionFromBuildInfoAndLinkerFlag(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "github.com/parleyhq/parley", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}}}
	got := buildVersion("", info)
	want := versionInfo{Version: "v1.4.0", Revision: "0123456789abcdef", Modified: true, Time: "2026-11-30T10:00:00Z", Go: "go1.99"}
	if got != want {
		t.Errorf("from build info: %+v, want %+v", got, want)
	}
	if s := got.String(); s != "parley v1.4.0 (revision 0123456789abcdef (modified), committed 2026-11-30T10:00:00Z, go1.99)" {
		t.Errorf("printed %q", s)
	}
	if got := buildVersion("v1.4.0-3-g0123456-dirty", info); got.Version != "v1.4.0-3-g0123456-dirty" || got.Revision != "0123456789abcdef" {
		t.Errorf("the version linked in by make build must win: %+v", got)
	}
	info.Main.Version = "(devel)"
	info.Settings = nil
	if got := buildVersion("", info).String(); got != "parley (devel) (go1.99)" {
		t.Errorf("without VCS details: %q", got)
	}
}
