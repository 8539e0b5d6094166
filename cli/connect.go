package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gatehouse/connect"
)

// issued is a brokered credential as the API returns it.
type issued struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Purpose    string          `json:"purpose"`
	Username   string          `json:"username,omitempty"`
	Password   string          `json:"password,omitempty"`
	PrivateKey string          `json:"private_key,omitempty"`
	Passphrase string          `json:"passphrase,omitempty"`
	Object     json.RawMessage `json:"object,omitempty"`
}

// Connect is `gatehouse connect TARGET [--host H] [--listen-port P]
// [--exec CMD -- ARGS]`: it authorizes a session on the target (by id, by
// name, or "project/name") and relays local connections to it. Without a
// TARGET, or with --token, it is today's `gatehouse connect --token`.
func Connect(ctx context.Context, args []string, env Env) error {
	fs := newFlags("connect", "connect TARGET [--host H] [--listen-port P] [--keep-session] [--exec CMD -- ARGS]\n       gatehouse connect --addr URL --token TOKEN …  (a session started on the web page)", env)
	var c common
	c.register(fs, env)
	host := fs.String("host", "", "host of the target (id or name; default: chosen by Gatehouse)")
	port := fs.Int("listen-port", 0, "local port on 127.0.0.1 (default: a random free port)")
	execCmd := fs.String("exec", "", "command to run once listening, with {{host}} and {{port}} replaced; its arguments follow --; "+
		"brokered credentials are in its environment (GATEHOUSE_USERNAME, GATEHOUSE_PASSWORD, GATEHOUSE_PRIVATE_KEY, GATEHOUSE_CREDENTIALS)")
	keep := fs.Bool("keep-session", false, "on exit, leave the session running")
	fs.String("token", "", "a session token from the web page (today's form; see gatehouse connect --token --help)")
	pos, rest := interleaved(fs, args)
	if err := parse(fs, rest); err != nil {
		return err
	}
	if fs.Lookup("token").Value.String() != "" || (len(pos) == 0 && env.Getenv("GATEHOUSE_TOKEN") != "") {
		return connect.Main(ctx, args, env.Getenv, env.Stdout, env.Stderr)
	}
	var execArgs []string
	if fs.NArg() > 0 {
		if *execCmd == "" {
			return usageError("unexpected argument %q (arguments after -- need --exec)", fs.Arg(0))
		}
		execArgs = fs.Args()
	}
	if len(pos) != 1 {
		return usageError("usage: gatehouse connect TARGET (gatehouse targets lists them)")
	}
	if *port < 0 || *port > 65535 {
		return usageError("--listen-port %d: want 0 to 65535", *port)
	}
	cl, _, err := c.session(env)
	if err != nil {
		return err
	}
	t, err := resolveTarget(ctx, cl, pos[0])
	if err != nil {
		return err
	}
	body := map[string]string{}
	if *host != "" {
		if body["host_id"], err = resolveHost(ctx, cl, t, *host); err != nil {
			return err
		}
	}
	var auth struct {
		Session     session  `json:"session"`
		Token       string   `json:"token"`
		Credentials []issued `json:"credentials"`
		Addr        string   `json:"addr"`
	}
	if err := cl.do(ctx, http.MethodPost, "/targets/"+url.PathEscape(t.ID)+"/authorize-session", nil, body, &auth); err != nil {
		return err
	}
	tlsConfig, err := connect.TLSConfig(c.caFile, c.insecure, env.Stderr)
	if err != nil {
		return usageError("%v", err)
	}
	tc, err := connect.NewClient(cl.addr, auth.Token, tlsConfig)
	if err != nil {
		return err
	}
	p := &connect.Proxy{Client: tc, ListenAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), Out: env.Stdout, Err: env.Stderr,
		KeepSession: *keep}
	if *execCmd != "" {
		p.Exec = append([]string{*execCmd}, execArgs...)
		p.Env = credentialEnv(auth.Session.ID, auth.Credentials)
	}
	if c.format == "json" && p.Exec == nil {
		p.Out = env.Stderr
		p.Ready = func(a net.Addr) {
			_ = json.NewEncoder(env.Stdout).Encode(map[string]any{"session_id": auth.Session.ID, "listen": a.String(),
				"expires_at": auth.Session.ExpiresAt, "credentials": auth.Credentials})
		}
	} else {
		fmt.Fprintf(env.Stderr, "Session %s on %s (%s/%s).\n", auth.Session.ID, t.Name, t.OrgName, t.ProjectName)
		if p.Exec == nil {
			printCredentials(env, auth.Credentials)
		}
	}
	return p.Run(ctx)
}

// resolveTarget finds the target named ref among those the caller can
// reach: an id, a name, or "project/name" when the name is ambiguous.
func resolveTarget(ctx context.Context, cl *client, ref string) (*target, error) {
	name, project := ref, ""
	if i := strings.LastIndex(ref, "/"); i > 0 {
		project, name = ref[:i], ref[i+1:]
	}
	ts, err := listTargets(ctx, cl, name)
	if err != nil {
		return nil, err
	}
	var matches []target
	for _, t := range ts {
		switch {
		case t.ID == ref:
			return &t, nil
		case strings.EqualFold(t.Name, name) && (project == "" || strings.EqualFold(t.ProjectName, project) ||
			strings.EqualFold(t.OrgName+"/"+t.ProjectName, project)):
			matches = append(matches, t)
		case project != "" && strings.EqualFold(t.Name, ref): // a name holding "/"
			matches = append(matches, t)
		}
	}
	switch len(matches) {
	case 1:
		return &matches[0], nil
	case 0:
		return nil, &Error{Code: ExitDenied, Msg: fmt.Sprintf("no target %q that you can reach: `gatehouse targets` lists yours; "+
			"if you expected one, ask Gatehouse's \"Why can't I?\" page (%s/explain)", ref, cl.addr)}
	}
	var names []string
	for _, t := range matches {
		names = append(names, fmt.Sprintf("%q (%s)", t.ProjectName+"/"+t.Name, t.ID))
	}
	return nil, &Error{Code: ExitAmbiguous, Msg: fmt.Sprintf("%q names %d targets; say which: %s", ref, len(matches), strings.Join(names, ", "))}
}

// resolveHost finds a host of the target by id or name.
func resolveHost(ctx context.Context, cl *client, t *target, ref string) (string, error) {
	var st struct {
		Hosts []struct {
			ID, Name, Address string
		} `json:"hosts"`
	}
	if err := cl.do(ctx, http.MethodGet, "/my-targets/"+url.PathEscape(t.ID), nil, nil, &st); err != nil {
		return "", err
	}
	var names []string
	for _, h := range st.Hosts {
		if h.ID == ref || strings.EqualFold(h.Name, ref) || h.Address == ref {
			return h.ID, nil
		}
		names = append(names, h.Name)
	}
	return "", usageError("--host %q: not a host of %s (its hosts: %s)", ref, t.Name, strings.Join(names, ", "))
}

// credentialEnv hands brokered credentials to the --exec command: the
// first username/password/private key as GATEHOUSE_USERNAME,
// GATEHOUSE_PASSWORD, GATEHOUSE_PRIVATE_KEY, and all of them as JSON in
// GATEHOUSE_CREDENTIALS.
func credentialEnv(sessionID string, creds []issued) []string {
	env := []string{"GATEHOUSE_SESSION_ID=" + sessionID}
	set := map[string]bool{}
	add := func(k, v string) {
		if v != "" && !set[k] {
			set[k] = true
			env = append(env, k+"="+v)
		}
	}
	for _, c := range creds {
		add("GATEHOUSE_USERNAME", c.Username)
		add("GATEHOUSE_PASSWORD", c.Password)
		add("GATEHOUSE_PRIVATE_KEY", c.PrivateKey)
	}
	if len(creds) > 0 {
		b, _ := json.Marshal(creds)
		env = append(env, "GATEHOUSE_CREDENTIALS="+string(b))
	}
	return env
}

func printCredentials(env Env, creds []issued) {
	for _, c := range creds {
		fmt.Fprintf(env.Stderr, "Credential %s (%s):", c.Name, c.Type)
		if c.Username != "" {
			fmt.Fprintf(env.Stderr, " username %s", c.Username)
		}
		if c.Password != "" {
			fmt.Fprintf(env.Stderr, " password %s", c.Password)
		}
		if c.PrivateKey != "" {
			fmt.Fprintf(env.Stderr, "\n%s", c.PrivateKey)
		}
		if len(c.Object) > 0 {
			fmt.Fprintf(env.Stderr, " %s", c.Object)
		}
		fmt.Fprintln(env.Stderr)
	}
}
