// Command bench measures Gatehouse from the outside, through the real
// binary: it builds `gatehouse` (or takes --bin), starts `gatehouse dev` on
// SQLite and `gatehouse serve` on a fresh Postgres database (and a second
// `serve --tls-cert` for the encrypted tunnel), opens sessions through the
// web pages as the administrator, relays through `gatehouse connect`, and
// prints one JSON line per figure on stdout (progress goes to stderr).
//
// Every figure that has one is measured next to its floor in the same run:
// a direct connection to the echo or bulk server, and a two-hop relay (two
// processes copying bytes, the middle hop TLS for the TLS figures).
//
//	go tool task benchrun                      # both databases, defaults
//	go run ./bench --db sqlite --only first_byte,admission
//	go run ./bench --bin /tmp/gatehouse-old    # measure another build
//
// See docs/benchmarks.md for what each figure means. Everything runs on
// loopback; every loop is bounded in count and time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	bin        string
	dbs        []string
	pgURL      string
	only       map[string]bool
	rounds     int   // first-byte round trips (each of direct and gatehouse)
	admissions int   // connections in the admission-rate figure
	inFlight   int   // concurrent connections in the admission-rate figure
	starts     int   // sequential session starts
	callers    int   // concurrent session starters
	bulk       int64 // bytes per bulk transfer
	bulkRuns   int
	idle       int
	cancels    int
	pprofDir   string
	keep       bool
	label      string
}

// figures are the names --only accepts, in the order they run.
var figures = []string{"start", "session_start", "connect", "first_byte", "first_byte_tls", "admission", "bulk", "bulk_tls", "cancel", "expiry", "lists", "idle"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "relay" {
		if err := relayMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := &config{}
	dbs := fs.String("db", "sqlite,postgres", "databases to measure: sqlite (gatehouse dev), postgres (gatehouse serve)")
	only := fs.String("only", "", "comma-separated figures to measure (default all): "+strings.Join(figures, ","))
	fs.StringVar(&c.bin, "bin", "", "gatehouse binary to measure (default: go build the module this runs in)")
	fs.StringVar(&c.pgURL, "pg", envOr("GATEHOUSE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"Postgres server URL; a fresh database is created on it and dropped at the end")
	fs.IntVar(&c.rounds, "rounds", 1000, "first-byte round trips, each through gatehouse and direct, interleaved")
	fs.IntVar(&c.admissions, "admissions", 3000, "connections opened in the admission-rate figure")
	fs.IntVar(&c.inFlight, "in-flight", 32, "connections in flight in the admission-rate figure")
	fs.IntVar(&c.starts, "starts", 200, "sequential session starts (p50/p99)")
	fs.IntVar(&c.callers, "callers", 16, "concurrent callers for the session-start rate (50 starts each)")
	bulkMiB := fs.Int("bulk-mib", 1024, "MiB per bulk transfer")
	fs.IntVar(&c.bulkRuns, "bulk-runs", 2, "bulk transfers per path (direct, relay, gatehouse), interleaved")
	fs.IntVar(&c.idle, "idle", 9000, "idle connections opened on one session (needs about 2 file descriptors each in every process)")
	fs.IntVar(&c.cancels, "cancels", 10, "cancel rounds (a session, a connection, a cancel each)")
	fs.StringVar(&c.pprofDir, "pprof-dir", "", "write CPU profiles of the server during the first-byte (2 s), session-start (3 s), admission (5 s) and idle (3 s) figures here (needs a binary with --pprof-listen)")
	fs.BoolVar(&c.keep, "keep", false, "keep the data folder and the Postgres database")
	fs.StringVar(&c.label, "label", "", "added to every JSON line as \"label\" (e.g. before/after)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.bulk = int64(*bulkMiB) << 20
	for _, d := range strings.Split(*dbs, ",") {
		if d = strings.TrimSpace(d); d != "" {
			if d != "sqlite" && d != "postgres" {
				return nil, fmt.Errorf("--db: %q is neither sqlite nor postgres", d)
			}
			c.dbs = append(c.dbs, d)
		}
	}
	if *only != "" {
		c.only = map[string]bool{}
		for _, f := range strings.Split(*only, ",") {
			f = strings.TrimSpace(f)
			if !contains(figures, f) {
				return nil, fmt.Errorf("--only: unknown figure %q (known: %s)", f, strings.Join(figures, ","))
			}
			c.only[f] = true
		}
	}
	return c, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *config) want(fig string) bool { return c.only == nil || c.only[fig] }

// emit prints one figure as a JSON line.
func (c *config) emit(db, figure string, fields map[string]any) {
	line := map[string]any{"figure": figure, "db": db, "at": time.Now().UTC().Format(time.RFC3339), "load1": load1()}
	if c.label != "" {
		line["label"] = c.label
	}
	for k, v := range fields {
		line[k] = v
	}
	b, _ := json.Marshal(line)
	fmt.Println(string(b))
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func run(ctx context.Context, cfg *config) error {
	tmp, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(tmp)
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(tmp, "gatehouse")
		logf("building %s", cfg.bin)
		if err := goBuild(ctx, cfg.bin); err != nil {
			return err
		}
	}
	logf("binary %s, %d CPUs, GOMAXPROCS %d", cfg.bin, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	for _, db := range cfg.dbs {
		if err := runDB(ctx, cfg, db, filepath.Join(tmp, db)); err != nil {
			return fmt.Errorf("%s: %w", db, err)
		}
	}
	return nil
}
