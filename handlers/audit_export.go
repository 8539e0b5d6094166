package handlers

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

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
		func(row *models.HistoryRow) error { return cw.Write(csvRecord(rec, row)) },
		func() error { cw.Flush(); return cw.Error() })
}

// ExportJSONL streams the filtered history as JSON lines, one session per
// line (GET /audit/sessions.jsonl).
func (h Audit) ExportJSONL(w http.ResponseWriter, r *http.Request) error {
	enc := json.NewEncoder(w)
	return h.export(w, r, "application/jsonl; charset=utf-8", "session-history.jsonl",
		func() error { return nil },
		func(row *models.HistoryRow) error { return enc.Encode(jsonRecord(row)) },
		func() error { return nil })
}

// export runs one streamed export of the filtered history.
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

// streamExport streams the rows run emits as a download: nothing is written
// before the first row (or the end), so a refused or invalid request still
// gets its error page; written rows are flushed every exportFlushRows.
func streamExport[T any](w http.ResponseWriter, r *http.Request, log *slog.Logger, ctype, filename string,
	header func() error, write func(T) error, flush func() error, run func(emit func(T) error) error) error {
	rc := http.NewResponseController(w)
	started, n := false, 0
	start := func() error {
		started = true
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return header()
	}
	err := run(func(row T) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := write(row); err != nil {
			return err
		}
		if n++; n%exportFlushRows == 0 {
			if err := flush(); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		return nil
	})
	if err != nil && !started {
		return err
	}
	if err != nil {
		// Headers are gone: the truncated download is all we can signal.
		log.WarnContext(r.Context(), "export stopped", slog.String("file", filename), slog.Int("rows", n), slog.Any("error", err))
		return nil
	}
	if !started {
		if err := start(); err != nil {
			return err
		}
	}
	return flush()
}

// csvSafe prefixes with ' text that a spreadsheet would run as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// csvRecord fills rec with row's fields in models.HistoryColumns order.
// Text that a spreadsheet would run as a formula is prefixed with '.
func csvRecord(rec []string, r *models.HistoryRow) []string {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	term := ""
	if r.TerminatedAt != nil {
		term = ts(*r.TerminatedAt)
	}
	vals := [...]string{r.SessionID, ts(r.CreatedAt), ts(r.ExpiresAt), r.State, term, r.TerminationReason,
		r.UserID, r.UserName, r.UserEmail, r.AuthMethodID, r.AuthMethodName, r.TargetID, r.TargetName,
		r.HostID, r.HostName, r.HostAddress, r.ProjectID, r.ProjectName, r.OrgID, r.OrgName, r.ClientIP,
		strconv.Itoa(r.ConnectionCount), strconv.FormatInt(r.BytesUp, 10), strconv.FormatInt(r.BytesDown, 10)}
	for i, v := range vals {
		if i < 21 {
			v = csvSafe(v)
		}
		rec[i] = v
	}
	return rec
}

type historyJSON struct {
	SessionID         string     `json:"session_id"`
	CreatedAt         time.Time  `json:"created_at"`
	ExpiresAt         time.Time  `json:"expires_at"`
	State             string     `json:"state"`
	TerminatedAt      *time.Time `json:"terminated_at"`
	TerminationReason string     `json:"termination_reason"`
	UserID            string     `json:"user_id"`
	UserName          string     `json:"user_name"`
	UserEmail         string     `json:"user_email"`
	AuthMethodID      string     `json:"auth_method_id"`
	AuthMethodName    string     `json:"auth_method_name"`
	TargetID          string     `json:"target_id"`
	TargetName        string     `json:"target_name"`
	HostID            string     `json:"host_id"`
	HostName          string     `json:"host_name"`
	HostAddress       string     `json:"host_address"`
	ProjectID         string     `json:"project_id"`
	ProjectName       string     `json:"project_name"`
	OrgID             string     `json:"org_id"`
	OrgName           string     `json:"org_name"`
	ClientIP          string     `json:"client_ip"`
	ConnectionCount   int        `json:"connection_count"`
	BytesUp           int64      `json:"bytes_up"`
	BytesDown         int64      `json:"bytes_down"`
}

func jsonRecord(r *models.HistoryRow) historyJSON {
	return historyJSON(*r)
}
