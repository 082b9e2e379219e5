// Package record builds the one stored form of an observation: every
// source (the SFMC client's metered calls, the recording proxy, HTTP
// ingest, the file tail, ENS callbacks, the collectors' feeds) hands its
// normalised event and classification to From, so family, code, error
// flag, count and severity are derived the same way everywhere, and free
// text is masked and bounded before anything is kept.
package record

import (
	"bytes"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options adjust From for one source.
type Options struct {
	// KeepSuccessBodies keeps the (masked, capped) bodies of successful
	// calls too. Off by default: successful bodies are where personal data
	// lives; only failures, recipient outcomes and reads of records in a
	// failed state keep theirs as evidence.
	KeepSuccessBodies bool
	// DropBody never keeps the body (token responses carry tokens).
	DropBody bool
	// Failed is the source's own verdict when the classifier found no
	// error family (the SFMC client's: a call that got no response, or a
	// 2xx body error the catalog does not know): the record is an error
	// of this family.
	Failed catalog.Family
	// FailedCode is the code when the classification has none (a call
	// without a response: "timeout", "transport", "canceled").
	FailedCode string
	// OK is the source's verdict that the call succeeded whatever its
	// body says (the SFMC client judges its own calls): never an error.
	OK bool
	// PerCall counts the call once instead of its per-item outcomes
	// (sfmcwatch's own calls: one attempt, one failure).
	PerCall bool
}

// From returns the record to store for ev classified as res:
//   - Family, Code, Surface and Severity come from the primary
//     classification (Options.Failed and FailedCode fill in when it has
//     none); IsError is set for the five error families only;
//   - Count is the classification's count (at least 1; 1 with PerCall);
//   - the integration name is masked like any free text (names from logs
//     and headers have carried addresses);
//   - the body is kept only as evidence (see Options), masked, then cut
//     to store.MaxBodySample.
func From(ev event.Event, res classify.Result, o Options) store.EventRecord {
	p := res.Primary()
	fam := p.Family
	if !fam.IsError() && o.Failed != "" {
		fam = o.Failed
	}
	if fam == "" || (o.OK && fam.IsError()) {
		fam = catalog.None
	}
	keep := !o.DropBody && (o.KeepSuccessBodies || fam.IsError() || fam == catalog.Recipient || res.RecordFailed())
	if !keep {
		ev.Body = nil
	}
	ev.Integration = redact.String(ev.Integration)
	if len(ev.Body) > 0 {
		b := redact.Bytes(ev.Body)
		if len(b) > store.MaxBodySample {
			b = b[:store.MaxBodySample]
		}
		// A copy: sources reuse their capture buffers.
		ev.Body = bytes.Clone(b)
	}
	rec := store.EventRecord{Event: ev, Family: string(fam), Code: p.Code, Surface: string(p.Surface),
		IsError: fam.IsError(), Count: max(p.Count, 1), Severity: string(p.Severity)}
	if o.PerCall {
		rec.Count = 1
	}
	if rec.Code == "" {
		rec.Code = o.FailedCode
	}
	if rec.IsError {
		if rec.Surface == "" {
			rec.Surface = string(catalog.HTTP)
		}
		if rec.Severity == "" {
			rec.Severity = string(catalog.Error)
		}
	}
	return rec
}

// Single is the classification of one outcome SFMC reported that is not
// a call (a feed entry, an ENS event), resolved against the catalog.
func Single(surface catalog.Surface, code string, e catalog.Entry) classify.Result {
	return classify.Result{IsError: e.Family.IsError(), Surface: surface,
		Classifications: []classify.Classification{{Surface: surface, Code: code, Family: e.Family,
			Severity: e.Severity, Count: 1, IsError: e.Family.IsError()}}}
}
