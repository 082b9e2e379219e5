//go:build race

package detect

// raceEnabled: the race detector slows the generated-stream tests tenfold;
// they run fewer streams under it.
const raceEnabled = true
