// Package scan is the engine of `sfmcwatch scan`: it reads integration logs
// (JSON lines or CSV, optionally gzip, through internal/ingest), classifies
// every call — 2xx bodies included — with internal/classify, and reduces the
// calls to a Report: totals, per-family code counts, one pattern per
// fingerprint with its persistence, bad-line samples and a per-family
// timeline.
//
// # Pipeline and memory
//
// One reader goroutine cuts the inputs, in the order given, into batches of
// about Options.BatchBytes; Options.Workers goroutines parse and classify
// batches in parallel and reduce each to a compact summary (per
// (integration, endpoint) group: call count and run fragments; per
// fingerprint: count, earliest/latest time, run fragments, one sample; per
// family: calls per minute). A single aggregator merges the summaries in
// batch sequence order, so log order is preserved without keeping any
// per-event state beyond a batch. At most 2×Workers+2 batches exist at
// once, so memory is bounded by the batch size and the number of distinct
// fingerprints, not by the size of the logs.
//
// # Log order
//
// Log order is the inputs in the order given, then record order within each
// input. Each input is assumed chronological; runs (below) follow log
// order, not timestamps, and carry across input boundaries. Times are only
// used for spans: a run's span, a pattern's first_seen and last_seen are the
// earliest and latest timestamps involved, so out-of-order inputs never
// produce negative spans.
//
// # Fingerprints
//
// A fingerprint is (integration, endpoint template, family, surface and
// code). Every classification of a call in an error family (auth, client,
// rate_limit, server, timeout) is a failure of its fingerprint; a call with
// two codes fails two fingerprints. Per-recipient outcomes (family
// recipient) get fingerprints too but are not integration failures: they
// are reported in families and patterns, not counted in summary.errors.
//
// # Persistence
//
// Walking each (integration, endpoint) group in log order, a run of a
// fingerprint is a sequence of its failures with no success of that group
// in between. A success is a call of the group with no error-family
// classification (a 2xx whose body carries only recipient outcomes counts
// as a success). Failures of other fingerprints in between — other codes,
// other families — do not break a run. A pattern is persistent when at
// least one of its runs
//
//   - lasts at least Window: latest − earliest failure timestamp ≥ Window
//     (default 15m; exactly 15m is persistent), or
//   - has at least Consecutive failures (default 5; 4 failures are not
//     enough, 5 are);
//
// otherwise it is intermittent. A single failure is intermittent unless
// Consecutive is 1. Recipient fingerprints use the same rule, where only a
// call with neither an error nor a recipient outcome breaks their runs.
package scan
