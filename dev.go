package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"gatehouse/devseed"
	"gatehouse/models"
)

// devKeys are the keys `gatehouse dev` generates once into its data folder.
type devKeys struct {
	CookieHashKey  []byte `json:"cookie_hash_key"`
	CookieBlockKey []byte `json:"cookie_block_key"`
	RootKey        []byte `json:"root_key"`
}

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("dev", stderr)
	listen := s.add("listen", "GATEHOUSE_DEV_LISTEN", "127.0.0.1:9200", "address to listen on", false)
	dataDir := s.add("data-dir", "GATEHOUSE_DEV_DATA_DIR", ".gatehouse-dev", "folder for the database and generated keys", false)
	pprofListen := s.add("pprof-listen", "GATEHOUSE_PPROF_LISTEN", "", pprofUsage, false)
	if err := s.parse(args, getenv); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	keys, err := loadDevKeys(filepath.Join(*dataDir, "keys.json"))
	if err != nil {
		return err
	}
	logger := newLogger(stderr, "text", slog.LevelInfo)
	return startApp(ctx, appConfig{
		DatabaseURL: filepath.Join(*dataDir, "gatehouse.db"), Listen: *listen, ListenSetting: s.name(listen),
		CookieHashKey: keys.CookieHashKey, CookieBlockKey: keys.CookieBlockKey, RootKey: keys.RootKey,
		Dev: true, Webhooks: webhookConfig{AllowPrivate: true}, PprofListen: *pprofListen, AccessHelp: "In development, log in as admin and give yourself a role in Dev project (Access → Roles), or log in as alice, who is in the SRE group.", EchoListen: fmt.Sprintf("127.0.0.1:%d", devseed.EchoPort), Bootstrap: models.BootstrapOptions{AdminLoginName: devseed.AdminLoginName, AdminPassword: "password"},
		Announce: func(w io.Writer, url string, boot *models.BootstrapResult) {
			fmt.Fprintf(w, "\nGatehouse (dev) is running at %s\n", url)
			fmt.Fprintf(w, "  data folder: %s (delete it to start over)\n", *dataDir)
			fmt.Fprintf(w, "  log in as admin / password, or with the dev provider as alice, bob or admin (password: password)\n")
			fmt.Fprintf(w, "  try the proxy: as alice, start a session on the target echo (127.0.0.1:%d) and run the command it shows\n", devseed.EchoPort)
			fmt.Fprintf(w, "  try just-in-time access: as bob, request access to echo in My targets; as admin, approve it in Access requests\n\n")
		},
		Seed: func(ctx context.Context, store *models.Store, ext *url.URL, mounts map[string]http.Handler) error {
			return devseed.Seed(ctx, store, ext, mounts, logger)
		},
		Logger: logger, Stdout: stdout,
	})
}

// loadDevKeys reads the dev keys, generating and saving them on first use.
func loadDevKeys(path string) (*devKeys, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		var k devKeys
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("read %s: %w (delete it to generate new keys)", path, err)
		}
		return &k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	k := &devKeys{CookieHashKey: randomKey(64), CookieBlockKey: randomKey(32), RootKey: randomKey(32)}
	b, _ = json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("save dev keys: %w", err)
	}
	return k, nil
}
