package web

import (
	"runtime"
	"testing"
)

// TestPagesShareOneTemplateSet guards the serve process's idle memory: the
// pages are one parsed template set, not a clone of every template per page
// (twelve clones kept about 3.3 MB of parse trees live for the life of the
// process; one set is about 0.3 MB). Not parallel, so no other test of this
// package allocates while the heap is compared.
func TestPagesShareOneTemplateSet(t *testing.T) {
	s := &Server{assets: mustLoadAssets()}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pages, err := s.parsePages()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if live > 1<<20 {
		t.Errorf("parsed pages keep %d kB live, want under 1 MiB (one template set)", live/1024)
	}
	for _, name := range pageNames {
		if pages.Lookup("page-"+name) == nil {
			t.Errorf("page-%s missing from the set", name)
		}
	}
	runtime.KeepAlive(pages)
}
