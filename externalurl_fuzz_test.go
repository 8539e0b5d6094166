package main

import (
	"io"
	"maps"
	"strings"
	"testing"
)

// FuzzExternalURL: whatever --external-url holds, serve either refuses it
// (naming the setting) or keeps a bare http(s) origin that callback and
// logout URLs can be appended to (issue 11).
func FuzzExternalURL(f *testing.F) {
	for _, s := range []string{"https://gatehouse.example.com", "http://127.0.0.1:9200/", "https://h/path", "https://u@h",
		"ftp://h", "https://h?x#y", "https://h#", "//h", "https://[::1]:8443", "https://h:bad"} {
		f.Add(s)
	}
	base := serveEnv("postgres://postgres@127.0.0.1:5432/fuzz")
	f.Fuzz(func(t *testing.T, ext string) {
		env := maps.Clone(base)
		env["GATEHOUSE_EXTERNAL_URL"] = ext
		cfg, err := parseServeConfig(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			if !strings.Contains(err.Error(), "--external-url / GATEHOUSE_EXTERNAL_URL") {
				t.Fatalf("%q refused for another reason: %v", ext, err)
			}
			return
		}
		u := cfg.ExternalURL
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("%q accepted as %#v", ext, u)
		}
	})
}
