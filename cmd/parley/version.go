package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set by `make build` (-ldflags "-X main.version=…", from git
// describe). When it is empty, the build info's module version stands in.
var version string

func init() {
	info, _ := debug.ReadBuildInfo()
	version = buildVersion(version, info).Version
}

// versionInfo is what `parley version` prints.
type versionInfo struct {
	Version string `json:"version"`
	// Revision, Modified and Time describe the VCS commit built; Go sets
	// them when it builds from a checkout.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Time     string `json:"time,omitempty"`
	Go       string `json:"go,omitempty"`
}

// buildVersion is the version linked in (when set) or the module's, with
// the build info's VCS revision. info may be nil.
func buildVersion(linked string, info *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: linked}
	if info == nil {
		if v.Version == "" {
			v.Version = "(devel)"
		}
		return v
	}
	if v.Version == "" {
		v.Version = info.Main.Version
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	v.Go = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		case "vcs.time":
			v.Time = s.Value
		}
	}
	return v
}

// String is the one line `parley version` prints.
func (v versionInfo) String() string {
	var details []string
	if v.Revision != "" {
		rev := "revision " + v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		details = append(details, rev)
	}
	if v.Time != "" {
		details = append(details, "committed "+v.Time)
	}
	if v.Go != "" {
		details = append(details, v.Go)
	}
	if len(details) == 0 {
		return "parley " + v.Version
	}
	return "parley " + v.Version + " (" + strings.Join(details, ", ") + ")"
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parseFlags(fs, args, commandSpec{synopsis: "[--json]"}, stdout, stderr); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	v := buildVersion(version, info)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	_, err := fmt.Fprintln(stdout, v)
	return err
}
