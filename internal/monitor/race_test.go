//go:build race

package monitor_test

// raceDetector is true in -race builds: the 200-tenant schedule simulation
// is minutes long there (other tests run the worker pool under -race), and
// .ci/run runs it in its plain long-simulation step.
const raceDetector = true
