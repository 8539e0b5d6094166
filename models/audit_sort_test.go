package models_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestHistorySorts: Session history sorts by start, user or target name
// (then start), both ways, with keyset pages that walk forward and back to
// the same rows, keeping the filter; the state filter keeps live or one
// state; old spellings (newest, oldest, reason=live) still work.
func TestHistorySorts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		const n = 25
		seedHistory(t, store, n)
		type row struct {
			i            int
			user, target string
		}
		all := make([]row, n)
		for i := range n {
			all[i] = row{i, fmt.Sprintf("user%d", i%3), fmt.Sprintf("target-%d", i%4)}
		}
		want := func(key string, keep func(i int) bool) []string {
			rows := slices.Clone(all)
			desc := strings.HasPrefix(key, "-")
			slices.SortFunc(rows, func(a, b row) int {
				c := 0
				switch strings.TrimPrefix(key, "-") {
				case "user":
					c = strings.Compare(a.user, b.user)
				case "target":
					c = strings.Compare(a.target, b.target)
				}
				if c == 0 {
					c = a.i - b.i
				}
				if desc {
					return -c
				}
				return c
			})
			var out []string
			for _, r := range rows {
				if keep == nil || keep(r.i) {
					out = append(out, fmt.Sprintf("s_h%04d", r.i))
				}
			}
			return out
		}
		walk := func(f models.HistoryFilter) (fwd []string, pages []*models.HistoryPage) {
			req := models.HistoryPageRequest{Filter: f, PerPage: 4}
			for {
				p, err := store.HistorySessions(ctx, admin, req)
				mustNil(t, err)
				pages = append(pages, p)
				fwd = append(fwd, rowIDs(p.Rows)...)
				if p.Next == "" {
					return fwd, pages
				}
				req.After, err = models.ParseHistoryCursor(p.Next)
				mustNil(t, err)
			}
		}
		for _, key := range models.HistorySorts {
			for _, filter := range []string{"", "terminated"} {
				f, err := models.ParseHistoryFilter(func(k string) string {
					return map[string]string{"sort": key, "state": filter}[k]
				})
				mustNil(t, err)
				var keep func(int) bool
				if filter != "" {
					keep = func(i int) bool { return i%3 == 0 }
				}
				got, pages := walk(f)
				if w := want(key, keep); !slices.Equal(got, w) {
					t.Fatalf("sort %s state %q:\n got %v\nwant %v", key, filter, got, w)
				}
				if len(pages) < 2 {
					continue
				}
				// Back from the last page gives the page before it.
				last, prev := pages[len(pages)-1], pages[len(pages)-2]
				after, err := models.ParseHistoryCursor(last.Prev)
				mustNil(t, err)
				back, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: f, PerPage: 4, After: after, Back: true})
				mustNil(t, err)
				if !slices.Equal(rowIDs(back.Rows), rowIDs(prev.Rows)) {
					t.Fatalf("sort %s back: %v, want %v", key, rowIDs(back.Rows), rowIDs(prev.Rows))
				}
			}
		}
		// Older spellings.
		for q, first := range map[string]string{"sort=newest": "s_h0024", "sort=oldest": "s_h0000"} {
			k, v, _ := strings.Cut(q, "=")
			f, err := models.ParseHistoryFilter(func(s string) string {
				if s == k {
					return v
				}
				return ""
			})
			mustNil(t, err)
			p, err := store.HistorySessions(ctx, admin, models.HistoryPageRequest{Filter: f, PerPage: 1})
			mustNil(t, err)
			if rowIDs(p.Rows)[0] != first {
				t.Fatalf("%s starts with %v", q, rowIDs(p.Rows))
			}
		}
		live, _ := walk(models.HistoryFilter{State: models.StateFilterLive})
		oldLive, _ := walk(models.HistoryFilter{Reason: "live"})
		if w := want("-started", func(i int) bool { return i%3 != 0 }); !slices.Equal(live, w) || !slices.Equal(oldLive, w) {
			t.Fatalf("live: %v / %v, want %v", live, oldLive, w)
		}
		for q, field := range map[string]string{"sort=sideways": "sort", "state=asleep": "state", "from=yesterday": "from"} {
			k, v, _ := strings.Cut(q, "=")
			_, err := models.ParseHistoryFilter(func(s string) string {
				if s == k {
					return v
				}
				return ""
			})
			if models.FieldErrors(err)[field] == "" {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})
}
