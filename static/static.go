// Package static embeds Gatehouse's browser assets (stylesheet, pinned htmx and
// its SSE extension, our small app.js, the favicon) and serves them under
// cache-busting URLs of the form /static/<hash>/<name>, where <hash> is the
// first 8 hex digits of the SHA-256 of the file's content.
//
// htmx.min.js and sse.js are copied from node_modules by `go tool task assets`
// (versions pinned in package-lock.json) and committed, so a plain `go build`
// works from a clean clone.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// Prefix is the URL path under which Handler expects to be mounted.
const Prefix = "/static/"

//go:embed css js favicon.svg
var files embed.FS

// asset is one embedded file with its precomputed metadata.
type asset struct {
	name        string
	data        []byte
	hash        string // first 8 hex digits of the SHA-256, the URL component
	etag        string // quoted full SHA-256
	contentType string
}

// assets is built once from the embedded files; it never changes at run time.
var assets = mustLoad(files)

// contentTypes names the types we serve explicitly, so the result does not
// depend on the host's mime tables.
var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

func mustLoad(fsys fs.FS) map[string]*asset {
	m := map[string]*asset{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		full := hex.EncodeToString(sum[:])
		ct := contentTypes[path.Ext(name)]
		if ct == "" {
			ct = mime.TypeByExtension(path.Ext(name))
		}
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		m[name] = &asset{name: name, data: data, hash: full[:8], etag: `"` + full + `"`, contentType: ct}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("static: load embedded assets: %v", err))
	}
	return m
}

// Path returns the cache-busting URL of the embedded asset name (a slash
// separated path relative to this package, such as "css/app.css"), e.g.
// Path("css/app.css") == "/static/3f2a9c1d/css/app.css". The hash changes
// whenever the content does, so the URL can be cached forever.
//
// Path panics when name is not an embedded asset: that is a programming error
// in the caller (a typo in a template), not a run-time condition.
func Path(name string) string {
	a, ok := assets[name]
	if !ok {
		panic(fmt.Sprintf("static: unknown asset %q (have %s)", name, strings.Join(Names(), ", ")))
	}
	return Prefix + a.hash + "/" + a.name
}

// Names returns the names of every embedded asset, sorted; Path accepts each.
func Names() []string {
	names := make([]string, 0, len(assets))
	for n := range assets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Handler serves the embedded assets. It expects the full request path,
// beginning with /static/ (mount it at "/static/*" without stripping):
//
//   - /static/<hash>/<name> with the current hash: the file with
//     Cache-Control "public, max-age=31536000, immutable";
//   - /static/<other>/<name> (an old or wrong hash) and /static/<name>: the
//     current file with Cache-Control "no-cache", so a page rendered before a
//     deploy still gets a working, revalidated asset;
//   - an unknown name, or a path outside /static/: 404;
//   - a method other than GET or HEAD: 405.
//
// Responses carry the content type, an ETag (the full SHA-256, honoured in
// If-None-Match) and X-Content-Type-Options: nosniff.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// modTime is a fixed modification time for the embedded files: embed.FS has
// none, and the ETag is the real validator.
var modTime = time.Time{}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	a, immutable := lookup(r.URL.Path)
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", a.etag)
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, a.name, modTime, bytes.NewReader(a.data))
}

// lookup resolves a request path to an asset, and reports whether the path
// carried the asset's current hash.
func lookup(p string) (a *asset, current bool) {
	rest, ok := strings.CutPrefix(p, Prefix)
	if !ok || rest == "" || strings.Contains(rest, "..") {
		return nil, false
	}
	// /static/<name> without a hash: serve, but never as immutable.
	if a, ok := assets[rest]; ok {
		return a, false
	}
	hash, name, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, false
	}
	a, ok = assets[name]
	if !ok {
		return nil, false
	}
	return a, hash == a.hash
}
