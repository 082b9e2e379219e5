package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/sfmcwatch/sfmcwatch/internal/cli.Version=v1.2.3".
var Version = "dev"

func versionCommand() command {
	return command{name: "version", summary: "print the version", run: runVersion}
}

func runVersion(_ context.Context, args []string, s IO) int {
	fs := newFlagSet("version", "", "Print the sfmcwatch version, the Go version and the VCS revision it was built from.", s)
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" && len(st.Value) >= 12 {
				rev = " " + st.Value[:12]
			}
		}
	}
	fmt.Fprintf(s.Out, "sfmcwatch %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return ExitOK
}
