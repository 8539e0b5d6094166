package api

import (
	_ "embed"
	"net/http"
)

//go:generate go run gendoc.go

// Document is the OpenAPI 3.1 description of /api/v1 (openapi.json, kept
// honest by the tests that validate every request and response against it).
//
//go:embed openapi.json
var Document []byte

func serveDocument(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(Document)
}
