package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Build stamps, set at link time by the Makefile and packaging/release.sh:
//
//	-ldflags "-X github.com/sfmcwatch/sfmcwatch/internal/cli.Version=v1.2.3
//	          -X github.com/sfmcwatch/sfmcwatch/internal/cli.Commit=abc123
//	          -X github.com/sfmcwatch/sfmcwatch/internal/cli.Date=2026-01-02T03:04:05Z"
//
// A plain `go build` or `go install` leaves them empty and buildInfo falls
// back to what the Go toolchain recorded (module version, vcs.revision,
// vcs.time, vcs.modified).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// BuildInfo is what `sfmcwatch version` prints.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// buildInfo merges the link-time stamps with the toolchain's build info.
func buildInfo() BuildInfo {
	b := BuildInfo{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version // go install module@version
		}
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = st.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = st.Value
				}
			case "vcs.modified":
				b.Modified = b.Modified || (st.Value == "true" && Commit == "")
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// BuildVersion is the version `sfmcwatch version` prints (stamped, module
// version, or "dev").
func BuildVersion() string { return buildInfo().Version }

func versionCommand() command {
	return command{name: "version", summary: "print the version, commit and build date", run: runVersion}
}

func runVersion(_ context.Context, args []string, s IO) int {
	fs := newFlagSet("version", "[--json]", `
Print the sfmcwatch version, the commit it was built from, the build (or
commit) date, the Go version and the platform. Release builds stamp them
with -ldflags (make build, packaging/release.sh); a plain go build or go
install reports the toolchain's VCS information instead ("+dirty" marks a
build from a modified checkout).`, s)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	b := buildInfo()
	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(b)
		return ExitOK
	}
	commit := b.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if b.Modified {
		commit += "+dirty"
	}
	fmt.Fprintf(s.Out, "sfmcwatch %s commit %s built %s (%s %s)\n", b.Version, commit, b.Date, b.GoVersion, b.Platform)
	return ExitOK
}
