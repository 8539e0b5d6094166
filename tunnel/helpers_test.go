package tunnel_test

import "net/http"

func newRequest(connection, upgrade string) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, "http://x/v1/proxy", nil)
	if connection != "" {
		r.Header.Set("Connection", connection)
	}
	if upgrade != "" {
		r.Header.Set("Upgrade", upgrade)
	}
	return r, err
}
