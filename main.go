// Command gatehouse is an identity-aware access gateway: people log in with
// their company's SSO, start time-limited sessions on the targets they may
// reach, and connect through Gatehouse's proxy; every session is audited.
//
//	gatehouse dev [--listen ADDR] [--data-dir DIR]   everything embedded, for a first run
//	gatehouse serve [flags]                            production server (see --help)
//	gatehouse migrate up|status [--database-url URL]   schema migrations
//	gatehouse login --addr URL [--password]          log the CLI in (browser loopback redirect with PKCE)
//	gatehouse connect TARGET [--exec CMD -- ARGS]      start a session and relay local connections to it
//	gatehouse connect --addr URL --token T [--keep-session] [--exec CMD -- ARGS]   local proxy client for a session
//	gatehouse targets|sessions|cancel|history|logout|completion   see docs/cli.md
//	gatehouse genkeys                                  print fresh keys for serve
//	gatehouse version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"gatehouse/cli"
	"gatehouse/connect"
	"gatehouse/migrations"
	"gatehouse/models"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	if runsClient(os.Args[1:]) {
		// Ctrl-C in the terminal reaches the whole foreground process
		// group: it is the client's (psql cancels its query), so connect
		// takes it and does nothing; it ends when the client exits.
		signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals(os.Args[1:])...)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// runsClient reports whether args are `connect … --exec …`: a client runs
// in the foreground under gatehouse.
func runsClient(args []string) bool {
	if len(args) == 0 || args[0] != "connect" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--" {
			return false
		}
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && name == "exec" {
			return true
		}
	}
	return false
}

// stopSignals are the signals that stop gatehouse: Ctrl-C and SIGTERM,
// except that Ctrl-C belongs to the client under `connect --exec`.
func stopSignals(args []string) []os.Signal {
	if runsClient(args) {
		return []os.Signal{syscall.SIGTERM}
	}
	return []os.Signal{os.Interrupt, syscall.SIGTERM}
}

// exitStatus is the process exit status for run's result: 0 for nil, the
// client's own status when `connect --exec` ran a client that failed
// (silently: the client spoke for itself), a CLI command's own code (see
// docs/cli.md) after printing err, else 1 after printing err (except for
// --help).
func exitStatus(err error, stderr io.Writer) int {
	var exit *connect.ExitError
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &coded):
		fmt.Fprintln(stderr, "gatehouse:", err)
		return coded.ExitCode()
	case !errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, "gatehouse:", err)
	}
	return 1
}

const usage = `usage: gatehouse <command> [flags]

commands:
  dev       run everything embedded (SQLite, generated keys) for a first try
  serve     run the production server (configure with flags or GATEHOUSE_* variables)
  migrate   up|status: apply or show database migrations
  login     log the CLI in (--addr URL; the browser, or --password)
  logout    revoke the CLI's token and forget it
  targets   list the targets you can reach [SEARCH]
  connect   connect TARGET: start a session and relay local connections to it
            (connect --token TOKEN: a session started on the web page)
  sessions  list your sessions (--all: every session you may see; --state S)
  cancel    cancel a session by id
  history   session history (filters; --format table|json|csv)
  completion bash|zsh|fish: print a shell completion script
  genkeys   print fresh random keys for serve's configuration
  version   print the version
`

// run is the whole program: it parses the command line, and for the server
// commands opens the database, migrates, wires everything and serves until
// ctx ends. Tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "login", "logout", "targets", "connect", "sessions", "cancel", "history", "completion":
		return cli.Main(ctx, args[0], args[1:], cli.Env{Getenv: getenv, Stdin: os.Stdin, Stdout: stdout, Stderr: stderr})
	case "genkeys":
		return runGenkeys(stdout)
	case "version":
		fmt.Fprintln(stdout, "gatehouse", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg.Logger, cfg.Stdout = newLogger(stderr, cfg.LogFormat, cfg.LogLevel), stdout
	return startApp(ctx, *cfg)
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: gatehouse migrate up|status [--database-url URL]")
	}
	s := newSettings("migrate "+args[0], stderr)
	dbURL := s.add("database-url", "GATEHOUSE_DATABASE_URL", "", "postgres://… URL or SQLite file path", true)
	if err := s.parse(args[1:], getenv); err != nil {
		return err
	}
	if *dbURL == "" {
		return fmt.Errorf("%s: missing: set a postgres:// URL or a SQLite file path", s.name(dbURL))
	}
	if _, u, err := models.ParseDatabaseURL(*dbURL); err != nil {
		return fmt.Errorf("%s: %w", s.name(dbURL), err)
	} else {
		*dbURL = u
	}
	_, sqlDB, dialect, err := openDatabase(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if args[0] == "status" {
		return migrations.Status(ctx, sqlDB, string(dialect), stdout)
	}
	n, err := migrations.Up(ctx, sqlDB, string(dialect))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
	return nil
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
