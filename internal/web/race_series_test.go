//go:build race

package web_test

// seriesTestRows is how many distinct tenants, integrations, codes and
// endpoints TestMetricsSeriesBounded stores: fewer under -race, where the
// pure-Go SQLite is so slow that the scrape's 5 s store budget runs out;
// still many times the caps.
const seriesTestRows = 1500
