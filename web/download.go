package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
)

// binary is the running gatehouse executable, served for download so
// people get the CLI that matches their server.
type binary struct {
	once sync.Once
	path string
	sum  string
	err  error
}

func (b *binary) load() error {
	b.once.Do(func() {
		if b.path, b.err = os.Executable(); b.err != nil {
			return
		}
		f, err := os.Open(b.path)
		if err != nil {
			b.err = err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			b.err = err
			return
		}
		b.sum = hex.EncodeToString(h.Sum(nil))
	})
	return b.err
}

// binaryName is the download's file name: the server's platform.
func binaryName() string { return "gatehouse-" + runtime.GOOS + "-" + runtime.GOARCH }

// downloadBinary serves the running binary (GET /download/gatehouse),
// with its SHA-256 in the X-Checksum-Sha256 header.
func (s *Server) downloadBinary(w http.ResponseWriter, r *http.Request) error {
	if err := s.bin.load(); err != nil {
		return fmt.Errorf("find the running binary: %w", err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+binaryName()+`"`)
	w.Header().Set("X-Checksum-Sha256", s.bin.sum)
	http.ServeFile(w, r, s.bin.path)
	return nil
}

// downloadChecksum serves the binary's SHA-256 in sha256sum's format
// (GET /download/gatehouse.sha256).
func (s *Server) downloadChecksum(w http.ResponseWriter, r *http.Request) error {
	if err := s.bin.load(); err != nil {
		return fmt.Errorf("find the running binary: %w", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := fmt.Fprintf(w, "%s  %s\n", s.bin.sum, binaryName())
	return err
}
