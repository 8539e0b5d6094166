package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gatehouse/models"
)

// listJSON is one page of a list: the items, how many match in all, and
// the token of the next page (absent on the last).
type listJSON[T any] struct {
	Items         []T    `json:"items"`
	Total         int64  `json:"total"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// pageOf converts a Store page.
func pageOf[T, U any](p models.Page[T], f func(T) U) listJSON[U] {
	out := listJSON[U]{Items: mapSlice(p.Items, f), Total: p.Total}
	if p.Page < p.Pages() {
		out.NextPageToken = "p" + strconv.Itoa(p.Page+1)
	}
	return out
}

// listOptions reads search, page_size and page_token (an opaque token
// from next_page_token).
func listOptions(r *http.Request) (models.ListOptions, error) {
	q := r.URL.Query()
	opt := models.ListOptions{Search: strings.TrimSpace(q.Get("search")), Page: 1, PerPage: 25}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return opt, badRequest("page_size", "page_size must be a number from 1 to 200.")
		}
		opt.PerPage = n
	}
	if v := q.Get("page_token"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "p"))
		if !strings.HasPrefix(v, "p") || err != nil || n < 1 {
			return opt, badRequest("page_token", "page_token is not one this API gave out (use next_page_token).")
		}
		opt.Page = n
	}
	if len(opt.Search) > 256 {
		return opt, badRequest("search", "search must be at most 256 characters.")
	}
	return opt, nil
}

// actionsOf lists the allowed actions, sorted.
func actionsOf(m map[models.Action]bool) []string {
	out := []string{}
	for a, ok := range m {
		if ok {
			out = append(out, string(a))
		}
	}
	slices.Sort(out)
	return out
}
