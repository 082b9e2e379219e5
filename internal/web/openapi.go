package web

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of /api/v1 (hand-written;
// TestOpenAPIMatchesResponses validates real answers against it).
//
//go:embed openapi/openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDoc)
}
