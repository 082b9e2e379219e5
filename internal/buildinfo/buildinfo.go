// Package buildinfo names this build for the outside world: the
// User-Agent every outgoing HTTP request and e-mail of sfmcwatch carries.
// It imports nothing of sfmcwatch, so any package can use it.
package buildinfo

import "runtime/debug"

// Version is the sfmcwatch version; the binary sets it at start-up from its
// own version (cli.Version) or the build sets it with -ldflags "-X
// github.com/sfmcwatch/sfmcwatch/internal/buildinfo.Version=v1.2.3".
// Empty: the module version from the build info ("go install …@v1.2.3"),
// else "dev".
var Version string

// UserAgent is "sfmcwatch/<version>".
func UserAgent() string {
	v := Version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if v == "" {
		v = "dev"
	}
	return "sfmcwatch/" + v
}
