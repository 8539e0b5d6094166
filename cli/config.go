package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// login is what the CLI keeps for one Gatehouse address.
type login struct {
	Token     string    `json:"token"`
	TokenID   string    `json:"token_id"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// config is the CLI's file: a token per address (0600), and the address
// used when none is given.
type config struct {
	Default string           `json:"default"`
	Logins  map[string]login `json:"logins"`

	path string
}

// configPath is $GATEHOUSE_CONFIG_DIR/cli.json, else the user config
// directory's gatehouse/cli.json.
func configPath(getenv func(string) string) (string, error) {
	dir := getenv("GATEHOUSE_CONFIG_DIR")
	if dir == "" {
		base := getenv("XDG_CONFIG_HOME")
		if base == "" {
			var err error
			if base, err = os.UserConfigDir(); err != nil {
				return "", fmt.Errorf("find your config directory (set GATEHOUSE_CONFIG_DIR): %w", err)
			}
		}
		dir = filepath.Join(base, "gatehouse")
	}
	return filepath.Join(dir, "cli.json"), nil
}

func loadConfig(getenv func(string) string) (*config, error) {
	p, err := configPath(getenv)
	if err != nil {
		return nil, err
	}
	c := &config{Logins: map[string]login{}, path: p}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("read %s: %w (delete it and log in again)", p, err)
	}
	if c.Logins == nil {
		c.Logins = map[string]login{}
	}
	return c, nil
}

// save writes the file atomically with mode 0600 (the directory 0700).
func (c *config) save() error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".cli-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.path)
}

// normAddr is the key of an address: scheme://host[:port][/path], no
// trailing slash.
func normAddr(addr string) string { return strings.TrimSuffix(strings.TrimSpace(addr), "/") }
