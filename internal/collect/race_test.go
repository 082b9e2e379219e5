//go:build race

package collect_test

// raceDetector is true in -race builds. The quiet-week simulations (a week
// of polls with zero findings expected) and the longest timelines whose
// collectors other tests run under -race are skipped there: the race
// detector makes them minutes long, and .ci/run runs them in a plain step.
const raceDetector = true

// msgQuietDays is how long TestQuietWeekNoFindings runs.
const msgQuietDays = 7
