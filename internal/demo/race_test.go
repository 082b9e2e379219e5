//go:build race

package demo

// raceDetector is true in -race builds: TestMeasureIntegrationCases (hours
// of simulated traffic through the proxy) is skipped there; .ci/run's
// `demo --measure` step runs the same cases on the release binary.
const raceDetector = true
