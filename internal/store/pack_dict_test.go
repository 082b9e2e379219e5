package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"testing"
)

// deflate's pooled dictionary writer gives streams that inflate (and
// flate.NewReaderDict) read back with the same dictionary, as
// flate.NewWriterDict's do, and about as small.
func TestDeflateDictRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string { return fmt.Sprintf("%x", rng.Uint32()%4096) }
	for i := range 200 {
		var dict, b bytes.Buffer
		n := rng.IntN(3000)
		if i%20 == 0 {
			n = 40000 + rng.IntN(30000) // longer than flate's 32 KB window
		}
		fmt.Fprint(&dict, `{"counters":{`)
		for dict.Len() < n {
			fmt.Fprintf(&dict, `"k%s":%d,`, word(), rng.IntN(1000))
		}
		// The state: mostly the base with a few changes, sometimes unrelated.
		b.Write(dict.Bytes())
		if i%7 == 0 {
			b.Reset()
			for b.Len() < n/2 {
				fmt.Fprintf(&b, "x%s", word())
			}
		}
		for range rng.IntN(5) {
			fmt.Fprintf(&b, `"new%s":%d,`, word(), rng.IntN(1e6))
		}
		packed := deflate(b.Bytes(), dict.Bytes())
		got, err := inflate(packed, dict.Bytes())
		if err != nil || !bytes.Equal(got, b.Bytes()) {
			t.Fatalf("case %d: round trip failed: %v (got %d bytes, want %d)", i, err, len(got), b.Len())
		}
		var ref bytes.Buffer
		w, _ := flate.NewWriterDict(&ref, flate.BestCompression, dict.Bytes())
		_, _ = w.Write(b.Bytes())
		_ = w.Close()
		if len(packed) > ref.Len()+ref.Len()/10+16 {
			t.Errorf("case %d: %d bytes, flate.NewWriterDict %d", i, len(packed), ref.Len())
		}
		// Pooled writers carry nothing from one call to the next.
		if again := deflate(b.Bytes(), dict.Bytes()); !bytes.Equal(again, packed) {
			t.Fatalf("case %d: a second deflate differs", i)
		}
	}
}

func BenchmarkDeflateDict(b *testing.B) {
	dict := bytes.Repeat([]byte(`{"status":"Active","sent":12345,"queued":0,"errors":3},`), 30)
	state := append(bytes.Clone(dict[:len(dict)-40]), []byte(`{"status":"Active","sent":12399,"queued":2,"errors":3}`)...)
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			deflate(state, dict)
		}
	})
	b.Run("NewWriterDict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out bytes.Buffer
			w, _ := flate.NewWriterDict(&out, flate.BestCompression, dict)
			_, _ = w.Write(state)
			_ = w.Close()
		}
	})
}
