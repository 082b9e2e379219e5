package store

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// A snapshot's counters and payload are stored packed (migration 00011):
// the state counters JSON, a 0x00 byte, payload JSON (JSON never holds a
// raw NUL) deflated with a base as preset dictionary. The base is the
// state of an earlier row of the same object, kept deflated in
// snapshot_bases. Polls of one object repeat most of their payload (names,
// ids, the same runs and jobs shifted by one), so a row costs about what
// changed since its base: on the simulated default business unit about
// a tenth of the raw counters and payload (each deflated alone: a third).
//
// A row whose delta exceeds 1/rebaseRatio of itself deflated alone starts
// a new base (its own state), so drift from an old base never costs more
// than a fraction of plain compression.

// rebaseRatio: a delta larger than 1/rebaseRatio of the standalone
// deflated state starts a new base. Replaying the hourly rows of a
// simulated business unit's day (15 h, 8 h warm-up) through 2, 3 and 4:
// rows plus bases 2.46, 2.06 and 1.99 MB (automations, whose every run
// adds a random id and timestamps, 1.27, 0.98 and 0.91 MB): a base costs
// a few deltas, a drifting delta costs on every row after it.
const rebaseRatio = 4

// packState joins counters and payload; nil when both are empty.
func packState(counters map[string]int64, payload []byte) ([]byte, error) {
	if len(counters) == 0 && len(payload) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if len(counters) > 0 {
		c, err := json.Marshal(counters)
		if err != nil {
			return nil, fmt.Errorf("counters: %w", err)
		}
		b.Write(c)
	}
	b.WriteByte(0)
	b.Write(payload)
	return b.Bytes(), nil
}

// unpackState splits a state packState made.
func unpackState(state []byte) (map[string]int64, json.RawMessage, error) {
	i := bytes.IndexByte(state, 0)
	if i < 0 {
		return nil, nil, fmt.Errorf("packed state without separator")
	}
	var counters map[string]int64
	if i > 0 {
		if err := json.Unmarshal(state[:i], &counters); err != nil {
			return nil, nil, fmt.Errorf("counters: %w", err)
		}
	}
	var payload json.RawMessage
	if len(state) > i+1 {
		payload = json.RawMessage(bytes.Clone(state[i+1:]))
	}
	return counters, payload, nil
}

// packedIsBase is the packed value of a row whose state is its base's
// (no deflate stream is this one byte).
var packedIsBase = []byte{0}

// plainWriters reuse the compressors of deflate without a dictionary (a
// flate.Writer is a few hundred KB to set up).
var plainWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestCompression)
	return w
}}

// dictWriter is a pooled compressor that takes a preset dictionary:
// flate.NewWriterDict allocates a new compressor (about 1 MB) per call and
// a flate.Writer cannot be reset to another dictionary, so the dictionary
// is written through the compressor with its output dropped, then flushed:
// the window holds the dictionary, the stream that follows starts on a
// byte boundary, and flate.NewReaderDict with the same dictionary reads it
// (TestDeflateDictRoundTrip).
type dictWriter struct {
	fw  *flate.Writer
	out switchWriter
}

// switchWriter passes writes to w, or drops them while w is nil.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

var dictWriters = sync.Pool{New: func() any {
	d := &dictWriter{}
	d.fw, _ = flate.NewWriter(&d.out, flate.BestCompression)
	return d
}}

// deflate compresses b, with dict as preset dictionary when not nil.
func deflate(b, dict []byte) []byte {
	var out bytes.Buffer
	if dict == nil {
		w := plainWriters.Get().(*flate.Writer)
		defer plainWriters.Put(w)
		w.Reset(&out)
		_, _ = w.Write(b) // a bytes.Buffer does not fail
		_ = w.Close()
		return out.Bytes()
	}
	d := dictWriters.Get().(*dictWriter)
	defer dictWriters.Put(d)
	d.out.w = nil
	d.fw.Reset(&d.out)
	_, _ = d.fw.Write(dict)
	_ = d.fw.Flush()
	d.out.w = &out
	_, _ = d.fw.Write(b)
	_ = d.fw.Close()
	d.out.w = nil
	return out.Bytes()
}

// readers reuse decompressors (flate's readers reset to any dictionary).
var readers sync.Pool

// inflate reverses deflate.
func inflate(b, dict []byte) ([]byte, error) {
	var r io.ReadCloser
	if v := readers.Get(); v != nil {
		r = v.(io.ReadCloser)
		if err := r.(flate.Resetter).Reset(bytes.NewReader(b), dict); err != nil {
			return nil, fmt.Errorf("inflate: %w", err)
		}
	} else {
		r = flate.NewReaderDict(bytes.NewReader(b), dict)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	readers.Put(r)
	return out, nil
}

// baseCache keeps inflated bases by id (bases never change once written;
// an id is never reused on either backend).
type baseCache struct {
	mu sync.Mutex
	m  map[int64][]byte
}

// maxCachedBases bounds the cache (a few KB each).
const maxCachedBases = 4096

func (c *baseCache) get(id int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[id]
	return b, ok
}

func (c *baseCache) put(id int64, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedBases {
		c.m = make(map[int64][]byte)
	}
	c.m[id] = b
}

// equalExceptMarks reports whether two states (packState) differ only in
// the ReadMarks keys of their payloads: counters equal, both payloads
// JSON objects with the same other members, byte for byte.
func equalExceptMarks(a, b []byte) bool {
	i, j := bytes.IndexByte(a, 0), bytes.IndexByte(b, 0)
	if i < 0 || j < 0 || !bytes.Equal(a[:i], b[:j]) {
		return false
	}
	pa, pb := a[i+1:], b[j+1:]
	if !hasMark(pa) || !hasMark(pb) {
		return false
	}
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(pa, &ma) != nil || json.Unmarshal(pb, &mb) != nil {
		return false
	}
	for _, k := range ReadMarks {
		delete(ma, k)
		delete(mb, k)
	}
	if len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		w, ok := mb[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// hasMark reports whether a payload may hold a ReadMarks key (a cheap
// test before decoding it).
func hasMark(payload []byte) bool {
	for _, k := range ReadMarks {
		if bytes.Contains(payload, []byte(`"`+k+`"`)) {
			return true
		}
	}
	return false
}
