package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"gatehouse/connect"
)

// Env is the CLI's world: environment and standard streams.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Commands are the CLI commands Main runs (main dispatches them here).
var Commands = []string{"login", "logout", "targets", "connect", "sessions", "cancel", "history", "completion"}

// IsCommand reports whether name is a CLI command.
func IsCommand(name string) bool { return slices.Contains(Commands, name) }

// Main runs one CLI command with its arguments. Failures are *Error with
// an exit code (connect --exec returns the client's *connect.ExitError).
func Main(ctx context.Context, name string, args []string, env Env) error {
	switch name {
	case "login":
		return Login(ctx, args, env)
	case "logout":
		return Logout(ctx, args, env)
	case "targets":
		return Targets(ctx, args, env)
	case "connect":
		return Connect(ctx, args, env)
	case "sessions":
		return Sessions(ctx, args, env)
	case "cancel":
		return Cancel(ctx, args, env)
	case "history":
		return History(ctx, args, env)
	case "completion":
		return Completion(args, env)
	}
	return usageError("unknown command %q", name)
}

// common are the flags every API command takes.
type common struct {
	addr     string
	format   string
	caFile   string
	insecure bool
	formats  []string
}

func (c *common) register(fs *flag.FlagSet, env Env, formats ...string) {
	fs.StringVar(&c.addr, "addr", env.Getenv("GATEHOUSE_ADDR"), "Gatehouse URL (default: the one you last logged in to; env GATEHOUSE_ADDR)")
	c.formats = append([]string{"table", "json"}, formats...)
	fs.StringVar(&c.format, "format", "table", "output: "+strings.Join(c.formats, ", "))
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of the CA certificates that sign Gatehouse's TLS certificate")
	fs.BoolVar(&c.insecure, "insecure", false, "do NOT verify Gatehouse's TLS certificate (development only)")
}

func (c *common) check() error {
	if !slices.Contains(c.formats, c.format) {
		return usageError("--format %q: want one of %s", c.format, strings.Join(c.formats, ", "))
	}
	return nil
}

// session is an authenticated API client for the chosen address.
func (c *common) session(env Env) (*client, *config, error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	addr := normAddr(c.addr)
	if addr == "" {
		addr = cfg.Default
	}
	if addr == "" {
		return nil, nil, &Error{Code: ExitAuth, Msg: "not logged in: run `gatehouse login --addr URL` (the address of your Gatehouse)"}
	}
	l, ok := cfg.Logins[addr]
	if !ok || l.Token == "" {
		return nil, nil, &Error{Code: ExitAuth, Msg: "not logged in to " + addr + ": run `gatehouse login --addr " + addr + "`"}
	}
	tlsConfig, err := connect.TLSConfig(c.caFile, c.insecure, env.Stderr)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	return newClient(addr, l.Token, tlsConfig), cfg, nil
}

// parse parses flags, answering --help with the usage (exit 0) and bad
// flags with ExitUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &Error{Code: ExitUsage, Msg: err.Error()}
	}
	return nil
}

func newFlags(name, usage string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: gatehouse %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// interleaved lets flags follow positional arguments (`connect echo
// --exec cat`): it moves the leading positionals behind the flags, up to
// "--".
func interleaved(fs *flag.FlagSet, args []string) ([]string, []string) {
	var pos, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		rest = append(rest, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			i++
			rest = append(rest, args[i])
		}
	}
	return pos, rest
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
