package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"gatehouse/connect"
)

// tokenAnswer is the API's new-token answer.
type tokenAnswer struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Login is `gatehouse login --addr URL [--password]`: it gets a CLI token
// through Gatehouse's own login page (any auth method) on a loopback
// redirect with PKCE (RFC 8252), or with a password, and keeps it for the
// address.
func Login(ctx context.Context, args []string, env Env) error {
	fs := newFlags("login", "login --addr URL [--password [--method ID] [--login-name NAME]] [--name NAME]", env)
	var c common
	c.register(fs, env)
	password := fs.Bool("password", false, "log in with a password method, without a browser (the password is read from the terminal, or from stdin)")
	method := fs.String("method", "", "auth method id for --password (default: the only password method on the login page)")
	loginName := fs.String("login-name", "", "login name for --password (default: asked)")
	host, _ := os.Hostname()
	name := fs.String("name", "gatehouse CLI on "+host, "name of the token (shown on your account page)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the browser")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	addr := normAddr(c.addr)
	if u, err := url.Parse(addr); addr == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--addr %q: want the Gatehouse URL, like https://gatehouse.example.com", c.addr)
	}
	tlsConfig, err := connect.TLSConfig(c.caFile, c.insecure, env.Stderr)
	if err != nil {
		return usageError("%v", err)
	}
	cl := newClient(addr, "", tlsConfig)
	var tok tokenAnswer
	if *password {
		err = passwordLogin(ctx, cl, env, *method, *loginName, *name, &tok)
	} else {
		lctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		err = browserLogin(lctx, cl, env, *name, &tok)
	}
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env.Getenv)
	if err != nil {
		return err
	}
	cfg.Logins[addr] = login{Token: tok.Token, TokenID: tok.ID, UserID: tok.UserID, ExpiresAt: tok.ExpiresAt}
	cfg.Default = addr
	if err := cfg.save(); err != nil {
		return fmt.Errorf("keep the token: %w", err)
	}
	if c.format == "json" {
		return writeJSON(env.Stdout, map[string]any{"addr": addr, "user_id": tok.UserID, "token_id": tok.ID, "expires_at": tok.ExpiresAt})
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s (until %s).\n", addr, tok.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// browserLogin opens Gatehouse's CLI login page in the browser and waits
// for its answer on a loopback listener.
func browserLogin(ctx context.Context, cl *client, env Env, name string, out *tokenAnswer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the browser's answer: %w", err)
	}
	defer ln.Close()
	verifier, state := randomString(32), randomString(16)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://" + ln.Addr().String() + "/callback"
	q := url.Values{"redirect_uri": {redirect}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "state": {state}, "name": {name}}
	loginURL := cl.addr + "/cli/login?" + q.Encode()

	type answer struct{ code, err string }
	got := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		v := r.URL.Query()
		a := answer{code: v.Get("code"), err: v.Get("error")}
		msg := "You are logged in. You can close this tab and go back to the terminal."
		switch {
		case v.Get("state") != state:
			a, msg = answer{err: "state_mismatch"}, "This answer was not for this login attempt. Run gatehouse login again."
		case a.err != "":
			msg = "Login canceled. You can close this tab."
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		fmt.Fprintf(w, "<!doctype html><html lang=en><title>Gatehouse CLI</title><body><main><h1>Gatehouse CLI</h1><p id=result>%s</p></main></body></html>", html.EscapeString(msg))
		select {
		case got <- a:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	// Shutdown, not Close: the handler hands over the answer before its
	// page has gone out, and closing its connection then left the browser
	// with no page at all.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(env.Stderr, "Opening your browser to log in:\n  %s\nIf it does not open, visit that address yourself.\n", loginURL)
	openBrowser(env, loginURL)
	var a answer
	select {
	case <-ctx.Done():
		return &Error{Code: ExitAuth, Msg: "no answer from the browser in time: run `gatehouse login` again"}
	case a = <-got:
	}
	if a.err != "" || a.code == "" {
		return &Error{Code: ExitAuth, Msg: "login not completed (" + a.err + ")"}
	}
	return cl.do(ctx, http.MethodPost, "/auth/cli-token", nil,
		map[string]string{"code": a.code, "code_verifier": verifier, "redirect_uri": redirect}, out)
}

// openBrowser runs $BROWSER (a command; "none" opens nothing) or the
// platform's opener. Failing to open is not an error: the URL is printed.
func openBrowser(env Env, u string) {
	cmd := env.Getenv("BROWSER")
	if cmd == "none" {
		return
	}
	var argv []string
	switch {
	case cmd != "":
		argv = append(strings.Fields(cmd), u)
	case runtime.GOOS == "darwin":
		argv = []string{"open", u}
	case runtime.GOOS == "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler", u}
	default:
		argv = []string{"xdg-open", u}
	}
	c := exec.Command(argv[0], argv[1:]...)
	if err := c.Start(); err == nil {
		go func() { _ = c.Wait() }()
	}
}

// passwordLogin asks for the password (no echo on a terminal) and logs in
// with a password auth method.
func passwordLogin(ctx context.Context, cl *client, env Env, method, loginName, name string, out *tokenAnswer) error {
	if method == "" {
		var ms struct {
			Items []struct{ ID, Type, Name string } `json:"items"`
		}
		if err := cl.do(ctx, http.MethodGet, "/auth-methods/public", nil, nil, &ms); err != nil {
			return err
		}
		var found []string
		for _, m := range ms.Items {
			if m.Type == "password" {
				found = append(found, m.ID)
			}
		}
		switch len(found) {
		case 0:
			return usageError("this Gatehouse lists no password method: log in with the browser (gatehouse login --addr %s), or pass --method", cl.addr)
		case 1:
			method = found[0]
		default:
			return usageError("several password methods (%s): choose one with --method", strings.Join(found, ", "))
		}
	}
	in := bufio.NewReader(env.Stdin)
	if loginName == "" {
		fmt.Fprint(env.Stderr, "Login name: ")
		l, err := in.ReadString('\n')
		if err != nil && l == "" {
			return usageError("no login name given")
		}
		loginName = strings.TrimSpace(l)
	}
	fmt.Fprint(env.Stderr, "Password: ")
	var pw string
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return err
		}
		pw = string(b)
	} else {
		l, err := in.ReadString('\n')
		if err != nil && l == "" {
			return usageError("no password given")
		}
		pw = strings.TrimRight(l, "\r\n")
	}
	return cl.do(ctx, http.MethodPost, "/auth/password", nil,
		map[string]string{"auth_method_id": method, "login_name": loginName, "password": pw, "token_name": name}, out)
}

// Logout is `gatehouse logout`: it revokes the token on the server and
// forgets it.
func Logout(ctx context.Context, args []string, env Env) error {
	fs := newFlags("logout", "logout [--addr URL]", env)
	var c common
	c.register(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	cl, cfg, err := c.session(env)
	if err != nil {
		return err
	}
	err = cl.do(ctx, http.MethodDelete, "/auth/token", nil, nil, nil)
	if err != nil && !isAuth(err) { // an ended token is logged out already
		return err
	}
	delete(cfg.Logins, cl.addr)
	if cfg.Default == cl.addr {
		cfg.Default = ""
	}
	if err := cfg.save(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Logged out of %s.\n", cl.addr)
	return nil
}
