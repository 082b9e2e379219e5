//go:build race

package config

// raceBuild: the test binary runs with the race detector, so readFields
// lists with -race and reuses the packages `go test -race` compiled.
const raceBuild = true
