package models

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Dialect differences live here: the Dialect type and every helper that
// writes SQL one way on Postgres and another on SQLite (row locks through
// GORM (forUpdate) or in raw SQL (forUpdateSQL, lockRows, lockedSet,
// skipLockedRows, shareRows), key-share locks, advisory locks, typed time
// parameters, prefix ranges, JSON). Use cases
// call these helpers rather than testing s.dialect inline; the remaining
// inline tests (history text search, chart grouping, export batching, the
// session list plan, Postgres notifications) choose a query plan, not a
// locking rule.

// Dialect names the database flavour behind a Store.
type Dialect string

// The two supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// lockedSet turns a condition on sessions into one that, on Postgres, first
// locks the matching rows in id order (so concurrent set-based moves never
// deadlock); with skipLocked rows another instance is moving are left to it.
// SQLite's single writer needs neither.
func (s *Store) lockedSet(cond string, skipLocked bool) string {
	if s.dialect != Postgres {
		return cond
	}
	lock := " FOR UPDATE"
	if skipLocked {
		lock += " SKIP LOCKED"
	}
	return "id IN (SELECT id FROM sessions WHERE " + cond + " ORDER BY id" + lock + ")"
}

// timeParam is a time placeholder whose type Postgres cannot infer (in a
// CASE); SQLite takes the bound text as is.
func (s *Store) timeParam() string {
	if s.dialect == Postgres {
		return "CAST(? AS timestamptz)"
	}
	return "?"
}

// keyShare locks the read rows against deletion until commit on Postgres,
// so a deletion either sees the new session (and cancels it) or makes the
// start fail with not found.
func (s *Store) keyShare(sql string, of string) string {
	if s.dialect == Postgres {
		return sql + " FOR KEY SHARE OF " + of
	}
	return sql
}

// prefixRange is a case-insensitive "starts with" condition on col as a
// range on lower(col), which an expression index serves on both databases
// (byte order: COLLATE "C" on Postgres, SQLite's default). indexed false
// keeps SQLite from using that index for it (unary +, same value).
func (s *Store) prefixRange(col, prefix string, indexed bool) (string, string, string) {
	lo := strings.ToLower(prefix)
	hi := lo + "\U0010FFFF"
	expr := "lower(" + col + ")"
	if s.dialect == Postgres {
		expr += ` COLLATE "C"`
	} else if !indexed {
		expr = "+" + expr
	}
	return expr + " >= ? AND " + expr + " < ?", lo, hi
}

// forUpdate locks the rows a GORM query selects until the transaction ends
// on Postgres; SQLite's single writer needs no row lock.
func (s *Store) forUpdate(db *gorm.DB) *gorm.DB {
	if s.dialect == Postgres {
		return db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return db
}

// forUpdateSQL ends a raw SELECT so that, on Postgres, it locks the rows it
// returns until the transaction ends (FOR UPDATE); SQLite's single writer
// needs no row lock.
func (s *Store) forUpdateSQL(sql string) string {
	if s.dialect != Postgres {
		return sql
	}
	return sql + " FOR UPDATE"
}

// lockRows locks the rows of table matching cond until commit on Postgres
// (SELECT … FOR UPDATE); SQLite's single writer needs no lock.
func (s *Store) lockRows(ctx context.Context, table, cond string, args ...any) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.q(ctx).Exec("SELECT 1 FROM "+table+" WHERE "+cond+" FOR UPDATE", args...).Error
}

// advisoryLock takes the Postgres transaction-scoped advisory lock key, so
// the changes guarded by it take turns; SQLite's single writer needs none.
func (s *Store) advisoryLock(ctx context.Context, key int64) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.q(ctx).Exec("SELECT pg_advisory_xact_lock(?)", key).Error
}

// skipLockedRows ends a SELECT so that, on Postgres, it locks the rows it
// returns and skips those another transaction holds (work queues: each
// instance claims disjoint rows); with of set, only the rows of that table
// (alias) of a join. SQLite's single writer needs neither.
func (s *Store) skipLockedRows(sql string, of ...string) string {
	if s.dialect != Postgres {
		return sql
	}
	if len(of) > 0 {
		return sql + " FOR UPDATE OF " + strings.Join(of, ", ") + " SKIP LOCKED"
	}
	return sql + " FOR UPDATE SKIP LOCKED"
}

// contains is the SQL condition that the text expression haystack contains
// needle (a plain substring, no wildcards): instr on SQLite, strpos on
// Postgres. Not LIKE: a LIKE whose pattern is a bound parameter makes SQLite
// parse its statement again at every run, defeating the statement cache.
func (s *Store) contains(haystack, needle string) string {
	if s.dialect == Postgres {
		return "strpos(" + haystack + ", " + needle + ") > 0"
	}
	return "instr(" + haystack + ", " + needle + ") > 0"
}

// jsonText is the SQL expression of the text at key of the JSON object in
// the text column col.
func (s *Store) jsonText(col, key string) string {
	if s.dialect == Postgres {
		return "CAST(" + col + " AS json)->>'" + key + "'"
	}
	return "json_extract(" + col + ", '$." + key + "')"
}

// shareRows locks the rows of table matching cond against change and
// deletion (other readers may share them) until commit on Postgres
// (SELECT … FOR SHARE); SQLite's single writer needs no lock.
func (s *Store) shareRows(ctx context.Context, table, cond string, args ...any) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.q(ctx).Exec("SELECT 1 FROM "+table+" WHERE "+cond+" FOR SHARE", args...).Error
}

// inList is the condition "col is one of the strings of the JSON array
// bound to its one placeholder" (see jsonList). Its text is the same
// however many values there are: gorm spells `IN ?` with a placeholder per
// value, so each batch size was a statement of its own, parsed and planned
// again (on Postgres, one more round trip to prepare it). On Postgres it
// is ANY of an array, which the planner estimates at a few values and
// finds by index; a join with jsonRows is estimated at 100 rows, and read
// whole tables of a few thousand rows instead (issue 17).
func (s *Store) inList(col string) string {
	if s.dialect == Postgres {
		return col + " = ANY(ARRAY(SELECT json_array_elements_text(CAST(? AS json))))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// jsonList is the argument of inList.
func jsonList(vals []string) string {
	b, _ := json.Marshal(vals) // strings always encode
	return string(b)
}

// jsonRows is a FROM item named alias whose rows are the objects of the
// JSON array bound to its one placeholder, with the given columns (each
// "name type", the type as Postgres spells it): one parameter however many
// rows, so a batch is one statement with one bind on either database.
func (s *Store) jsonRows(alias string, cols ...string) string {
	if s.dialect == Postgres {
		return "json_to_recordset(CAST(? AS json)) AS " + alias + "(" + strings.Join(cols, ", ") + ")"
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		name, _, _ := strings.Cut(c, " ")
		sel[i] = "json_extract(value, '$." + name + "') AS " + name
	}
	return "(SELECT " + strings.Join(sel, ", ") + " FROM json_each(?)) AS " + alias
}

// jsonTimeLayout is how a time travels in a jsonRows column ("… timestamptz"):
// the layout the SQLite driver writes times in (db.go's _time_format), so
// that the value stored on SQLite is the same text a bound time.Time
// gives, and one Postgres reads as a timestamptz.
const jsonTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// jsonTime formats t (UTC, as the Store keeps times) for a jsonRows column.
func jsonTime(t time.Time) string { return t.UTC().Format(jsonTimeLayout) }

// Placeholders turns the ? of a statement sent through database/sql (not
// through GORM, which does it) into Postgres's $1, $2, …; SQLite takes them
// as they are. The statement must have no ? in its literals.
func Placeholders(d Dialect, query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
