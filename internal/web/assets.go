package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// assetFiles are the dashboard's static files: our CSS and JS, and the
// vendored htmx and uPlot (npm dist files with their LICENSE, unmodified).
//
//go:embed assets
var assetFiles embed.FS

// asset is one static file, gzipped once at start.
type asset struct {
	body, gz    []byte
	contentType string
	version     string
}

// assetSet serves the assets with content-hash versions for caching.
type assetSet struct {
	files map[string]*asset
}

func mustLoadAssets() *assetSet {
	set := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(assetFiles, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := &asset{body: b, version: hex.EncodeToString(sum[:6])}
		a.contentType = mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, "LICENSE") || a.contentType == "" {
			a.contentType = "text/plain; charset=utf-8"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b) {
			a.gz = buf.Bytes()
		}
		set.files[strings.TrimPrefix(p, "assets/")] = a
		return nil
	})
	if err != nil {
		panic("web: embedded assets: " + err.Error()) // the embed is checked by tests
	}
	return set
}

// url returns the versioned URL of an asset.
func (a *assetSet) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		panic("web: unknown asset " + name) // template bug, caught by tests
	}
	return "/assets/" + name + "?v=" + f.version
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/assets/")
	a, ok := s.assets.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", `"`+a.version+`"`)
	h.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if r.Header.Get("If-None-Match") == `"`+a.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
