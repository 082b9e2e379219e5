//go:build !race

package web_test

// seriesTestRows: see race_series_test.go.
const seriesTestRows = 10000
