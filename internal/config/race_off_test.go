//go:build !race

package config

// raceBuild: see race_on_test.go.
const raceBuild = false
