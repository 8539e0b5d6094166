package handlers

import (
	"encoding/csv"
	"encoding/json"
	"net/http"

	"gatehouse/models"
)

// exportFlushRows is how many rows are written between flushes.
const exportFlushRows = 1000

// ExportCSV streams the filtered history as CSV (GET /audit/sessions.csv).
func (h Audit) ExportCSV(w http.ResponseWriter, r *http.Request) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(models.HistoryColumns))
	return h.export(w, r, "text/csv; charset=utf-8", "session-history.csv",
		func() error { return cw.Write(models.HistoryColumns) },
		func(row *models.HistoryRow) error { return cw.Write(row.CSVRecord(rec)) },
		func() error { cw.Flush(); return cw.Error() })
}

// ExportJSONL streams the filtered history as JSON lines, one session per
// line (GET /audit/sessions.jsonl).
func (h Audit) ExportJSONL(w http.ResponseWriter, r *http.Request) error {
	enc := json.NewEncoder(w)
	return h.export(w, r, "application/jsonl; charset=utf-8", "session-history.jsonl",
		func() error { return nil },
		func(row *models.HistoryRow) error { return enc.Encode(row.JSON()) },
		func() error { return nil })
}

// export runs one streamed export: nothing is written before the first row
// (or the end), so a refused or invalid request still gets its error page.
func (h Audit) export(w http.ResponseWriter, r *http.Request, ctype, filename string,
	header func() error, write func(*models.HistoryRow) error, flush func() error) error {
	f, _, err := parseHistoryFilter(r.URL.Query())
	if err != nil {
		return err
	}
	return streamExport(w, r, h.Logger, ctype, filename, header, write, flush, func(emit func(*models.HistoryRow) error) error {
		return h.Store.ExportHistory(r.Context(), ActorFrom(r.Context()), f, emit)
	})
}
