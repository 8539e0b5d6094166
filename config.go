package main

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse/models"
)

// setting is one configuration value with its flag and environment names.
type setting struct {
	flag, env, help string
	def             string
	secret          bool
	value           *string
}

// settings binds flags and GATEHOUSE_* variables: a flag wins over the
// variable, which wins over the default.
type settings struct {
	fs    *flag.FlagSet
	list  []*setting
	bools []boolSetting
}

// boolSetting is an on/off setting (addBool).
type boolSetting struct {
	flag, env string
	value     *bool
}

func newSettings(name string, stderr io.Writer) *settings {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &settings{fs: fs}
}

func (s *settings) add(flagName, env, def, help string, secret bool) *string {
	st := &setting{flag: flagName, env: env, help: help, def: def, secret: secret, value: new(string)}
	usage := help
	if env != "" {
		usage += " (env " + env + ")"
	}
	s.fs.StringVar(st.value, flagName, "", usage)
	s.list = append(s.list, st)
	return st.value
}

// addBool declares an on/off setting, off by default: a bare --flag (or
// --flag=false) wins over the variable, which is read with
// strconv.ParseBool; parse refuses any other value of the variable.
func (s *settings) addBool(flagName, env, help string) *bool {
	v := s.fs.Bool(flagName, false, help+" (env "+env+"=true)")
	s.bools = append(s.bools, boolSetting{flag: flagName, env: env, value: v})
	return v
}

func (s *settings) parse(args []string, getenv func(string) string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", s.fs.Arg(0))
	}
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, st := range s.list {
		if set[st.flag] {
			continue
		}
		if v := getenv(st.env); st.env != "" && v != "" {
			*st.value = v
		} else {
			*st.value = st.def
		}
	}
	for _, b := range s.bools {
		if v := getenv(b.env); !set[b.flag] && v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("--%s / %s: must be true or false, not %q", b.flag, b.env, v)
			}
			*b.value = on
		}
	}
	return nil
}

// name is how an error message names a setting: both of its spellings.
func (s *settings) name(v *string) string {
	for _, st := range s.list {
		if st.value == v {
			return fmt.Sprintf("--%s / %s", st.flag, st.env)
		}
	}
	return "?"
}

// parseServeConfig reads and validates the settings of `gatehouse serve`
// (flags, then environment) into the one configuration type, appConfig;
// the caller adds the logger and output.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (*appConfig, error) {
	s := newSettings("serve", stderr)
	dbURL := s.add("database-url", "GATEHOUSE_DATABASE_URL", "", "postgres://… URL or SQLite file path", true)
	listen := s.add("listen", "GATEHOUSE_LISTEN", ":9200", "address to listen on", false)
	ext := s.add("external-url", "GATEHOUSE_EXTERNAL_URL", "", "URL people use to reach Gatehouse (https://… in production)", false)
	hashKey := s.add("cookie-hash-key", "GATEHOUSE_COOKIE_HASH_KEY", "", "base64 key (32 or 64 bytes) that signs the cookie", true)
	blockKey := s.add("cookie-block-key", "GATEHOUSE_COOKIE_BLOCK_KEY", "", "base64 key (32 bytes) that encrypts the cookie", true)
	rootKey := s.add("root-key", "GATEHOUSE_ROOT_KEY", "", "base64 AES-256 key (32 bytes) that encrypts secrets at rest", true)
	rootPrev := s.add("root-key-previous", "GATEHOUSE_ROOT_KEY_PREVIOUS", "", "comma-separated base64 root keys still accepted for decryption", true)
	logFormat := s.add("log-format", "GATEHOUSE_LOG_FORMAT", "json", "json or text", false)
	logLevel := s.add("log-level", "GATEHOUSE_LOG_LEVEL", "info", "debug, info, warn or error", false)
	proxies := s.add("trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is trusted", false)
	lifetime := s.add("login-lifetime", "GATEHOUSE_LOGIN_LIFETIME", "168h", "absolute lifetime of a browser login", false)
	idle := s.add("login-idle-timeout", "GATEHOUSE_LOGIN_IDLE_TIMEOUT", "24h", "a login unused this long ends", false)
	retention := s.add("session-retention", "GATEHOUSE_SESSION_RETENTION", "24h", "operational rows of sessions terminated longer ago are deleted (the warehouse keeps them forever)", false)
	sweep := s.add("session-sweep-interval", "GATEHOUSE_SESSION_SWEEP_INTERVAL", "1s", "how often expired and finished sessions are terminated", false)
	revInterval := s.add("revocation-interval", "GATEHOUSE_REVOCATION_INTERVAL", "5s", "how often pending credential revocations are looked at (retries; new ones start at once)", false)
	revRetry := s.add("revocation-retry", "GATEHOUSE_REVOCATION_RETRY", "2s", "delay before a failed credential revocation is retried, doubled each attempt up to 5m", false)
	grace := s.add("instance-grace", "GATEHOUSE_INSTANCE_GRACE", "30s", "an instance unseen this long is dead: the others close its connections (system error)", false)
	tlsCert := s.add("tls-cert", "GATEHOUSE_TLS_CERT", "", "PEM certificate chain file: serve HTTPS (with --tls-key)", false)
	tlsKey := s.add("tls-key", "GATEHOUSE_TLS_KEY", "", "PEM private key file of --tls-cert", false)
	whTimeout := s.add("webhook-timeout", "GATEHOUSE_WEBHOOK_TIMEOUT", "10s", "timeout of one webhook request", false)
	whRetention := s.add("webhook-retention", "GATEHOUSE_WEBHOOK_RETENTION", "720h", "webhook events and delivery logs older than this are deleted (at least 48h)", false)
	whPrivate := s.addBool("webhook-allow-private", "GATEHOUSE_WEBHOOK_ALLOW_PRIVATE", "let webhooks reach private, loopback and link-local addresses")
	pprofListen := s.add("pprof-listen", "GATEHOUSE_PPROF_LISTEN", "", pprofUsage, false)

	limits := addLimitSettings(s)

	accessHelp := s.add("access-help", "GATEHOUSE_ACCESS_HELP", "", "how people without access get it: a sentence, or an http(s) link to your request page", false)
	if err := s.parse(args, getenv); err != nil {
		return nil, err
	}
	var errs []error
	bad := func(v *string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", s.name(v), fmt.Sprintf(format, a...)))
	}
	cfg := &appConfig{DatabaseURL: *dbURL, Listen: *listen, ListenSetting: s.name(listen), LogFormat: *logFormat}
	if cfg.DatabaseURL == "" {
		bad(dbURL, "missing: set a postgres:// URL or a SQLite file path")
	} else if _, u, err := models.ParseDatabaseURL(cfg.DatabaseURL); err != nil {
		bad(dbURL, "%v", err)
	} else {
		cfg.DatabaseURL = u
	}
	if *ext == "" {
		bad(ext, "missing: set the URL people use to reach Gatehouse, e.g. https://gatehouse.example.com")
	} else if u, err := url.Parse(*ext); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(ext, "not an http(s) URL with a host")
	} else if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(*ext, "#") || u.User != nil {
		// Gatehouse is served at the root: its callback and logout URLs are
		// built by appending paths to this one.
		bad(ext, "must be only a scheme and host (and port), like https://gatehouse.example.com: no path, query, fragment or user name")
	} else {
		u.Path, u.RawPath = "", ""
		cfg.ExternalURL = u
	}
	key := func(v *string, sizes ...int) []byte {
		if *v == "" {
			bad(v, "missing: generate one with `gatehouse genkeys`")
			return nil
		}
		b, err := decodeKey(*v)
		if err != nil {
			bad(v, "not valid base64")
			return nil
		}
		for _, n := range sizes {
			if len(b) == n {
				return b
			}
		}
		bad(v, "decodes to %d bytes; want %v", len(b), sizes)
		return nil
	}
	cfg.CookieHashKey = key(hashKey, 32, 64)
	cfg.CookieBlockKey = key(blockKey, 32)
	cfg.RootKey = key(rootKey, 32)
	for _, p := range splitList(*rootPrev) {
		b, err := decodeKey(p)
		if err != nil || len(b) != 32 {
			bad(rootPrev, "each previous root key must be base64 of 32 bytes")
			break
		}
		cfg.RootKeyPrevious = append(cfg.RootKeyPrevious, b)
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		bad(logFormat, "must be json or text, not %q", cfg.LogFormat)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		bad(logLevel, "must be debug, info, warn or error, not %q", *logLevel)
	}
	for _, p := range splitList(*proxies) {
		pr, err := parsePrefix(p)
		if err != nil {
			bad(proxies, "%q is not an IP address or CIDR", p)
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pr)
	}
	dur := func(v *string) time.Duration {
		d, err := time.ParseDuration(*v)
		if err != nil || d <= 0 {
			bad(v, "must be a positive duration like 24h, not %q", *v)
		}
		return d
	}
	cfg.LoginLifetime, cfg.LoginIdle = dur(lifetime), dur(idle)
	cfg.SessionRetention = dur(retention)
	cfg.SessionSweep = dur(sweep)
	cfg.InstanceGrace = dur(grace)
	cfg.RevocationInterval, cfg.RevocationRetry = dur(revInterval), dur(revRetry)

	cfg.Webhooks = webhookConfig{Timeout: dur(whTimeout), AllowPrivate: *whPrivate, Retention: dur(whRetention)}
	if r := cfg.Webhooks.Retention; r > 0 && r < models.MinWebhookKeepFor {
		bad(whRetention, "must be at least 48h (deliveries are retried for 24 h), not %q", *whRetention)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = *tlsCert, *tlsKey
	cfg.PprofListen = *pprofListen

	cfg.limitsConfig = limits(bad)

	cfg.AccessHelp = strings.TrimSpace(*accessHelp)
	switch {
	case (*tlsCert == "") != (*tlsKey == ""):
		missing, set := tlsKey, tlsCert
		if *tlsCert == "" {
			missing, set = tlsCert, tlsKey
		}
		bad(missing, "missing while %s is set: give both the certificate and its key, or neither (plain HTTP, e.g. behind a TLS-terminating proxy)", s.name(set))
	case *tlsCert != "":
		if _, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey); err != nil {
			bad(tlsCert, "cannot load the certificate and key: %v", err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return cfg, nil
}

func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
