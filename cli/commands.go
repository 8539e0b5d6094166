package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// target is a target as /my-targets lists it.
type target struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ProjectID   string   `json:"project_id"`
	ProjectName string   `json:"project_name"`
	OrgName     string   `json:"org_name"`
	DefaultPort int      `json:"default_port"`
	Address     *string  `json:"address"`
	HostNames   []string `json:"host_names"`
	Credentials []string `json:"credentials"`
	Actions     []string `json:"actions"`
}

// Targets is `gatehouse targets [SEARCH]`: the targets you can reach.
func Targets(ctx context.Context, args []string, env Env) error {
	fs := newFlags("targets", "targets [SEARCH] [--format table|json]", env)
	var c common
	c.register(fs, env)
	pos, rest := interleaved(fs, args)
	if err := parse(fs, rest); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	cl, _, err := c.session(env)
	if err != nil {
		return err
	}
	ts, err := listTargets(ctx, cl, strings.Join(pos, " "))
	if err != nil {
		return err
	}
	if c.format == "json" {
		return writeJSON(env.Stdout, ts)
	}
	if len(ts) == 0 {
		fmt.Fprintln(env.Stderr, "No targets you can reach match. Ask an administrator for access, or see the \"Why can't I?\" page.")
		return nil
	}
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		where := strings.Join(t.HostNames, ", ")
		if t.Address != nil {
			where = *t.Address
		}
		rows = append(rows, []string{t.Name, t.OrgName + "/" + t.ProjectName, where, t.ID})
	}
	return table(env.Stdout, []string{"NAME", "PROJECT", "HOSTS", "ID"}, rows)
}

// listTargets reads every reachable target matching search (all pages).
func listTargets(ctx context.Context, cl *client, search string) ([]target, error) {
	var out []target
	q := url.Values{"page_size": {"200"}}
	if search != "" {
		q.Set("search", search)
	}
	for {
		var page struct {
			Items []target `json:"items"`
			Next  string   `json:"next_page_token"`
		}
		if err := cl.do(ctx, http.MethodGet, "/my-targets", q, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		q.Set("page_token", page.Next)
	}
}

// session is a session as the API lists it.
type session struct {
	ID                string     `json:"id"`
	State             string     `json:"state"`
	TerminationReason *string    `json:"termination_reason"`
	UserName          string     `json:"user_name"`
	TargetName        string     `json:"target_name"`
	ProjectName       string     `json:"project_name"`
	HostName          string     `json:"host_name"`
	Endpoint          string     `json:"endpoint"`
	CreatedAt         time.Time  `json:"created_at"`
	ExpiresAt         time.Time  `json:"expires_at"`
	EndedAt           *time.Time `json:"ended_at"`
	ConnectionCount   int        `json:"connection_count"`
	OpenConnections   int        `json:"open_connections"`
}

// Sessions is `gatehouse sessions [--all] [--state S]`.
func Sessions(ctx context.Context, args []string, env Env) error {
	fs := newFlags("sessions", "sessions [--all] [--state live|pending|active|canceling|terminated] [--target T] [--format table|json]", env)
	var c common
	c.register(fs, env)
	all := fs.Bool("all", false, "every session you may see, not only yours")
	state := fs.String("state", "", "only sessions in this state (live = not terminated)")
	target := fs.String("target", "", "only targets whose name starts with this")
	user := fs.String("user", "", "with --all: only users whose name starts with this")
	limit := fs.Int("limit", 50, "at most this many sessions (newest first)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	cl, _, err := c.session(env)
	if err != nil {
		return err
	}
	q := url.Values{"mine": {strconv.FormatBool(!*all)}, "page_size": {strconv.Itoa(max(1, min(*limit, 200)))}}
	for k, v := range map[string]string{"state": *state, "target": *target, "user": *user} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
		Total int64             `json:"total"`
	}
	if err := cl.do(ctx, http.MethodGet, "/sessions", q, nil, &page); err != nil {
		return err
	}
	if c.format == "json" {
		return writeJSON(env.Stdout, page.Items)
	}
	if len(page.Items) == 0 {
		fmt.Fprintln(env.Stderr, "No sessions.")
		return nil
	}
	rows := make([][]string, 0, len(page.Items))
	for _, raw := range page.Items {
		var s session
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		st := s.State
		if s.TerminationReason != nil {
			st += " (" + *s.TerminationReason + ")"
		}
		row := []string{s.ID, st, s.TargetName, s.CreatedAt.Local().Format("2006-01-02 15:04"), s.ExpiresAt.Local().Format("2006-01-02 15:04"),
			strconv.Itoa(s.ConnectionCount)}
		if *all {
			row = append(row, s.UserName)
		}
		rows = append(rows, row)
	}
	header := []string{"ID", "STATE", "TARGET", "STARTED", "EXPIRES", "CONNECTIONS"}
	if *all {
		header = append(header, "USER")
	}
	if err := table(env.Stdout, header, rows); err != nil {
		return err
	}
	more(env, len(rows), page.Total, "--limit (at most 200), --state or --target")
	return nil
}

// more tells, on stderr, that a table shows only shown of total items and
// how to see the others.
func more(env Env, shown int, total int64, how string) {
	if total > int64(shown) {
		fmt.Fprintf(env.Stderr, "Showing %d of %d sessions; narrow or widen with %s.\n", shown, total, how)
	}
}

// Cancel is `gatehouse cancel ID`.
func Cancel(ctx context.Context, args []string, env Env) error {
	fs := newFlags("cancel", "cancel SESSION_ID", env)
	var c common
	c.register(fs, env)
	pos, rest := interleaved(fs, args)
	if err := parse(fs, rest); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) != 1 {
		return usageError("usage: gatehouse cancel SESSION_ID (gatehouse sessions lists them)")
	}
	cl, _, err := c.session(env)
	if err != nil {
		return err
	}
	var s json.RawMessage
	if err := cl.do(ctx, http.MethodPost, "/sessions/"+url.PathEscape(pos[0])+"/cancel", nil, nil, &s); err != nil {
		return err
	}
	if c.format == "json" {
		_, err := fmt.Fprintln(env.Stdout, string(s))
		return err
	}
	var ss session
	_ = json.Unmarshal(s, &ss)
	fmt.Fprintf(env.Stdout, "Session %s on %s is %s.\n", ss.ID, ss.TargetName, ss.State)
	return nil
}

// History is `gatehouse history [filters] [--format table|json|csv]`:
// Session history with the page's filters; json (JSON lines) and csv are
// streamed from the export.
func History(ctx context.Context, args []string, env Env) error {
	fs := newFlags("history", "history [--from D] [--to D] [--user U] [--target T] [--project P] [--org O] [--auth-method M] [--reason R] [--client-ip IP] [--q TEXT] [--oldest] [--format table|json|csv]", env)
	var c common
	c.register(fs, env, "csv")
	filters := map[string]*string{}
	for _, f := range []struct{ flag, param, help string }{
		{"from", "from", "created on or after (YYYY-MM-DD, UTC)"}, {"to", "to", "created on or before (YYYY-MM-DD, UTC)"},
		{"user", "user", "user name or email"}, {"target", "target", "target name"}, {"project", "project", "project name"},
		{"org", "org", "org name"}, {"auth-method", "auth_method", "auth method name"},
		{"reason", "reason", "termination reason, or live"}, {"client-ip", "client_ip", "client address"},
		{"q", "q", "free text over names, emails, ids and addresses"},
	} {
		filters[f.param] = fs.String(f.flag, "", f.help)
	}
	oldest := fs.Bool("oldest", false, "oldest first")
	limit := fs.Int("limit", 50, "table: at most this many sessions")
	if err := parse(fs, args); err != nil {
		return err
	}
	cl, _, err := c.session(env)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range filters {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	if *oldest {
		q.Set("sort", "oldest")
	}
	if c.format != "table" {
		q.Set("format", map[string]string{"json": "jsonl", "csv": "csv"}[c.format])
		resp, err := cl.send(ctx, http.MethodGet, "/history/export", q, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(env.Stdout, resp.Body)
		return err
	}
	q.Set("page_size", strconv.Itoa(max(1, min(*limit, 500))))
	var page struct {
		Items []struct {
			SessionID         string    `json:"session_id"`
			CreatedAt         time.Time `json:"created_at"`
			State             string    `json:"state"`
			TerminationReason string    `json:"termination_reason"`
			UserName          string    `json:"user_name"`
			TargetName        string    `json:"target_name"`
			ProjectName       string    `json:"project_name"`
			ConnectionCount   int       `json:"connection_count"`
			BytesUp           int64     `json:"bytes_up"`
			BytesDown         int64     `json:"bytes_down"`
		} `json:"items"`
		Total int64 `json:"total"`
	}
	if err := cl.do(ctx, http.MethodGet, "/history", q, nil, &page); err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Fprintln(env.Stderr, "No sessions match.")
		return nil
	}
	rows := make([][]string, 0, len(page.Items))
	for _, h := range page.Items {
		st := h.State
		if h.TerminationReason != "" {
			st += " (" + h.TerminationReason + ")"
		}
		rows = append(rows, []string{h.SessionID, h.CreatedAt.Local().Format("2006-01-02 15:04"), h.UserName, h.ProjectName + "/" + h.TargetName,
			st, strconv.Itoa(h.ConnectionCount), strconv.FormatInt(h.BytesUp+h.BytesDown, 10)})
	}
	if err := table(env.Stdout, []string{"SESSION", "STARTED", "USER", "TARGET", "STATE", "CONNECTIONS", "BYTES"}, rows); err != nil {
		return err
	}
	more(env, len(rows), page.Total, "--limit (at most 500) or the filters; --format csv or json streams them all")
	return nil
}
