package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// webClient is the administrator's browser, without a browser.
type webClient struct {
	base string
	c    *http.Client
}

func newHTTPClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 60 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var (
	passwordMethod = regexp.MustCompile(`name="auth_method_id" value="(ampw_[A-Za-z0-9]+)"`)
	sessionLink    = regexp.MustCompile(`/sessions/(s_[A-Za-z0-9]+)/cancel`)
	sessionToken   = regexp.MustCompile(`data-testid="session-token">([^<]+)<`)
)

func (w *webClient) do(method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// login logs the administrator in through the login form.
func login(base string) (*webClient, error) {
	w := &webClient{base: base, c: newHTTPClient()}
	_, page, err := w.do(http.MethodGet, "/login", nil)
	if err != nil {
		return nil, err
	}
	m := passwordMethod.FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("the login page offers no password method")
	}
	status, _, err := w.do(http.MethodPost, "/login", url.Values{"auth_method_id": {m[1]}, "login_name": {"admin"}, "password": {benchPassword}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther {
		return nil, fmt.Errorf("login answered %d", status)
	}
	return w, nil
}

// startSession starts a session on target through the page's form and
// returns its id and token.
func (w *webClient) startSession(target string) (id, token string, err error) {
	status, page, err := w.do(http.MethodPost, "/targets/"+target+"/sessions", url.Values{})
	if err != nil {
		return "", "", err
	}
	s, t := sessionLink.FindStringSubmatch(page), sessionToken.FindStringSubmatch(page)
	if status != http.StatusCreated || s == nil || t == nil {
		return "", "", fmt.Errorf("start session answered %d", status)
	}
	return s[1], strings.TrimSpace(t[1]), nil
}

// cancel cancels a session as the page's button does (htmx).
func (w *webClient) cancel(id string) error {
	req, _ := http.NewRequest(http.MethodPost, w.base+"/sessions/"+id+"/cancel", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	resp, err := w.c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("cancel answered %d", resp.StatusCode)
	}
	return nil
}
