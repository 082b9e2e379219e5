// Package sink is where pushed and tailed inputs (HTTP ingest, file tail,
// ENS) hand their events over: Recorder turns a normalised event into a
// classified, masked store record the way the monitor stores its own calls,
// and Writer commits many callers' records in one store transaction (group
// commit), telling each caller when its records are durable.
package sink

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/endpoint"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/record"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Recorder classifies events into store records; safe for concurrent use.
type Recorder struct {
	cls *classify.Classifier
	// KeepSuccessBodies keeps (masked, capped) the bodies of successful
	// calls too; off by default.
	KeepSuccessBodies bool
}

// NewRecorder returns a Recorder (cls nil: the default catalog).
func NewRecorder(cls *classify.Classifier) *Recorder {
	if cls == nil {
		cls = classify.New(catalog.Default())
	}
	return &Recorder{cls: cls}
}

// Classifier returns the classifier in use.
func (r *Recorder) Classifier() *classify.Classifier { return r.cls }

// Record classifies ev (body-aware: 2xx error bodies count) and returns the
// record to store:
//   - Endpoint and ObjectKey are derived from URL when empty;
//   - Family, Code, Surface, Severity and Count come from the primary
//     classification, IsError is set for the five error families only
//     (recipient outcomes and successes are not errors); Severity is the
//     catalog's (info for plain successes);
//   - the body of a failed call (or a recipient outcome, or a read that
//     returned a record in a failed state) is masked (tokens, secrets,
//     e-mail addresses) and then cut to store.MaxBodySample; successful
//     bodies are not kept unless KeepSuccessBodies is set (they are
//     classified, never stored: they are where personal data lives);
//   - a zero TS becomes received (when the event arrived).
func (r *Recorder) Record(ev event.Event, received time.Time) store.EventRecord {
	if ev.TS.IsZero() {
		ev.TS = received
	}
	ev.TS = ev.TS.UTC()
	if ev.Endpoint == "" && ev.URL != "" {
		ev.Endpoint, ev.ObjectKey = endpoint.Template(ev.URL)
	}
	res := r.cls.Classify(classify.Input{URL: ev.URL, Method: ev.Method, Status: ev.Status, Body: ev.Body, Now: ev.TS})
	return fromResult(ev, res, r.KeepSuccessBodies)
}

// RecordResult is Record with the classification already made (ENS
// events are outcomes SFMC reports, not calls with an HTTP status).
// Endpoint, ObjectKey and TS are taken as given.
func RecordResult(ev event.Event, res classify.Result) store.EventRecord {
	return fromResult(ev, res, false)
}

func fromResult(ev event.Event, res classify.Result, keepSuccess bool) store.EventRecord {
	return record.From(ev, res, record.Options{KeepSuccessBodies: keepSuccess})
}
