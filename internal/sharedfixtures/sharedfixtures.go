// Package sharedfixtures locates the team's shared folder (recorded SFMC
// responses and the reference error-code list) for tests. The data is never
// copied into this module: tests find it through SFMCWATCH_SHARED or a
// ../shared folder above the module root, and skip with a clear message when
// it is absent.
package sharedfixtures

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared folder, or "" when it cannot be found.
func Dir() string {
	if d := os.Getenv("SFMCWATCH_SHARED"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	// Walk up to the module root (the folder with go.mod), then look for
	// ../shared beside it; also accept a shared folder on the way up.
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			cand := filepath.Join(filepath.Dir(d), "shared")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Require returns the shared folder joined with elem, skipping the test with
// a message naming how to provide it when the folder is absent.
func Require(tb testing.TB, elem ...string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		if os.Getenv("SFMCWATCH_REQUIRE_SHARED") != "" {
			tb.Fatal("shared fixtures not found but SFMCWATCH_REQUIRE_SHARED is set: set SFMCWATCH_SHARED to the shared folder")
		}
		tb.Skip("shared fixtures not found: set SFMCWATCH_SHARED to the shared folder (or place it at ../shared beside the module); .ci/run makes this mandatory")
	}
	p := filepath.Join(append([]string{d}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared folder %s has no %s: %v", d, filepath.Join(elem...), err)
	}
	return p
}

// Fixtures returns the recorded SFMC responses folder (shared/fixtures/sfmc).
func Fixtures(tb testing.TB) string { tb.Helper(); return Require(tb, "fixtures", "sfmc") }

// ErrorCodesCSV returns the path of the reference error-code list.
func ErrorCodesCSV(tb testing.TB) string {
	tb.Helper()
	return Require(tb, "reference", "sfmc-error-codes.csv")
}
