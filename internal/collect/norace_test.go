//go:build !race

package collect_test

// raceDetector is true in -race builds (see race_test.go).
const raceDetector = false

// msgQuietDays is how long TestQuietWeekNoFindings runs.
const msgQuietDays = 7
