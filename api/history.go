package api

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"gatehouse/models"
)

// history lists one page of Session history (GET /history): the page's
// filters, newest first (sort=oldest for oldest first), keyset pages, and
// the total of sessions matching the filters. The total is counted on the
// first page and carried by next_page_token, so the pages of one walk
// report the same total and a deep page stays as cheap as the first
// (a count over a million sessions costs up to a second; docs/api.md).
func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := models.ParseHistoryFilter(q.Get)
	if err != nil {
		return err
	}
	cursor, total, err := historyToken(q.Get("page_token"))
	if err != nil {
		return badRequest("page_token", "page_token is not one this API gave out (use next_page_token).")
	}
	after, err := models.ParseHistoryCursor(cursor)
	if err != nil {
		return badRequest("page_token", "page_token is not one this API gave out (use next_page_token).")
	}
	size := 50
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 500 {
			return badRequest("page_size", "page_size must be a number from 1 to 500.")
		}
	}
	p, err := s.store.HistorySessions(r.Context(), actorFrom(r.Context()), models.HistoryPageRequest{Filter: f, After: after, PerPage: size, Count: total < 0})
	if err != nil {
		return err
	}
	if total < 0 {
		total = p.Total
	}
	if p.Next != "" {
		p.Next += "~" + strconv.FormatInt(total, 10)
	}
	out := struct {
		Items         []models.HistoryJSON `json:"items"`
		Total         int64                `json:"total"`
		NextPageToken string               `json:"next_page_token,omitempty"`
	}{Items: make([]models.HistoryJSON, 0, len(p.Rows)), Total: total, NextPageToken: p.Next}
	for i := range p.Rows {
		out.Items = append(out.Items, p.Rows[i].JSON())
	}
	return writeJSON(w, http.StatusOK, out)
}

// exportHistory streams the filtered history (GET /history/export,
// format=csv or jsonl). Nothing is written before the first row, so a
// refusal is still a problem document.
func (s *Server) exportHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := models.ParseHistoryFilter(q.Get)
	if err != nil {
		return err
	}
	var ctype string
	var write func(*models.HistoryRow) error
	var flush func() error
	switch q.Get("format") {
	case "csv":
		cw, rec := csv.NewWriter(w), make([]string, len(models.HistoryColumns))
		ctype, flush = "text/csv; charset=utf-8", func() error { cw.Flush(); return cw.Error() }
		first := true
		write = func(row *models.HistoryRow) error {
			if first {
				first = false
				if err := cw.Write(models.HistoryColumns); err != nil {
					return err
				}
			}
			if row == nil {
				return nil
			}
			return cw.Write(row.CSVRecord(rec))
		}
	case "jsonl", "":
		enc := json.NewEncoder(w)
		ctype, flush = "application/jsonl", func() error { return nil }
		write = func(row *models.HistoryRow) error {
			if row == nil {
				return nil
			}
			return enc.Encode(row.JSON())
		}
	default:
		return badRequest("format", "format must be csv or jsonl.")
	}
	rc := http.NewResponseController(w)
	started, n := false, 0
	start := func() {
		started = true
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(http.StatusOK)
	}
	err = s.store.ExportHistory(r.Context(), actorFrom(r.Context()), f, func(row *models.HistoryRow) error {
		if !started {
			start()
		}
		if err := write(row); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if err := flush(); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil && !started:
		return err
	case err != nil:
		s.cfg.Logger.WarnContext(r.Context(), "history export stopped", slog.Int("rows", n), slog.Any("error", err))
		return nil
	case !started:
		start()
		if err := write(nil); err != nil {
			return err
		}
	}
	return flush()
}

// historyToken splits a history page token ("<cursor>~<total>") into its
// cursor and the total counted on the walk's first page (-1 when it
// carries none, as a bare cursor: count again).
func historyToken(tok string) (cursor string, total int64, err error) {
	switch strings.Count(tok, "~") {
	case 0, 1:
		return tok, -1, nil
	case 2:
		i := strings.LastIndex(tok, "~")
		if n, err := strconv.ParseInt(tok[i+1:], 10, 64); err == nil && n >= 0 {
			return tok[:i], n, nil
		}
	}
	return "", 0, errors.New("not a history page token")
}
