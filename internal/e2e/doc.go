// Package e2e holds end-to-end tests that drive the built commands and look
// at their output the way a person would: reports opened in a real headless
// Chromium (Debian's chromium package, through chromedp). The tests skip with
// a message when chromium is not installed; .ci/run installs it and sets
// SFMCWATCH_REQUIRE_BROWSER=1 so they cannot be skipped there.
package e2e
