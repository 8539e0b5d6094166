package models

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"
	"sync"
)

// stmtCacheSize bounds the prepared statements one SQLite connection keeps.
// The application runs a few hundred distinct statements; a query built
// with a variable number of placeholders takes one slot per shape.
const stmtCacheSize = 512

// stmtCacheConnector wraps the SQLite driver's connector so that every
// connection it opens keeps its prepared statements (issue 17): database/sql
// sends a query without arguments prepared beforehand to the connection's
// ExecContext/QueryContext, which the driver answers by parsing the SQL,
// running it and throwing the parse away; a session start spent a fifth of
// its CPU there. GORM's PrepareStmt does not help: a statement it first
// prepares inside a transaction belongs to that transaction and is parsed
// again in the next.
type stmtCacheConnector struct{ driver.Connector }

// Connect opens a connection of the wrapped connector and gives it a cache.
// A connection without the interfaces the cache relies on is returned as is.
func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteDriverConn)
	if !ok {
		return conn, nil
	}
	return &cachingConn{sqliteDriverConn: inner, stmts: map[string]*cachedStmt{}, lru: list.New()}, nil
}

// sqliteDriverConn is what modernc.org/sqlite's connections implement and
// database/sql looks for; the wrapper forwards all of it.
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	elem    *list.Element
	busy    bool // running, or its rows are open: a second use prepares afresh
	dropped bool // left the cache while busy: closed when released
}

// cachingConn is one SQLite connection with its statement cache. database/sql
// uses a connection from one goroutine at a time; the mutex covers a rows
// Close that a context's end may trigger from another.
type cachingConn struct {
	sqliteDriverConn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
	lru   *list.List // front: most recently used
}

// Unwrap returns the driver's connection (modernc.org/sqlite's Limit and
// similar helpers look through wrappers this way).
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteDriverConn }

// acquire returns the cached statement for query, preparing it on a miss,
// marked busy; nil (and no error) when it is busy already.
func (c *cachingConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if cs, ok := c.stmts[query]; ok {
		defer c.mu.Unlock()
		if cs.busy {
			return nil, nil
		}
		cs.busy = true
		c.lru.MoveToFront(cs.elem)
		return cs, nil
	}
	c.mu.Unlock()
	st, err := c.sqliteDriverConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	_, canExec := st.(driver.StmtExecContext)
	_, canQuery := st.(driver.StmtQueryContext)
	if !canExec || !canQuery {
		_ = st.Close()
		return nil, nil
	}
	cs := &cachedStmt{query: query, stmt: st, busy: true}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.elem = c.lru.PushFront(cs)
	c.stmts[query] = cs
	for e := c.lru.Back(); e != nil && c.lru.Len() > stmtCacheSize; {
		prev := e.Prev()
		if old := e.Value.(*cachedStmt); !old.busy {
			c.removeLocked(old)
			_ = old.stmt.Close()
		}
		e = prev
	}
	return cs, nil
}

// release marks cs free again. A statement that failed is dropped (its state
// after an error or an interrupt is not worth reasoning about: the next use
// prepares it again), as is one that left the cache while busy.
func (c *cachingConn) release(cs *cachedStmt, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.busy = false
	if failed && !cs.dropped {
		c.removeLocked(cs)
	}
	if cs.dropped {
		_ = cs.stmt.Close()
	}
}

func (c *cachingConn) removeLocked(cs *cachedStmt) {
	c.lru.Remove(cs.elem)
	delete(c.stmts, cs.query)
	cs.dropped = true
}

// ExecContext runs query through its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteDriverConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	c.release(cs, err != nil)
	return res, err
}

// QueryContext runs query through its cached statement; the statement stays
// busy until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteDriverConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs, true)
		return nil, err
	}
	return &cachedRows{Rows: rows, conn: c, cs: cs}, nil
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for _, cs := range c.stmts {
		if !cs.busy {
			_ = cs.stmt.Close()
		}
		cs.dropped = true
	}
	c.stmts = map[string]*cachedStmt{}
	c.lru.Init()
	c.mu.Unlock()
	return c.sqliteDriverConn.Close()
}

// cachedRows releases its statement when closed and forwards the column
// type interfaces of the driver's rows.
type cachedRows struct {
	driver.Rows
	conn   *cachingConn
	cs     *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.conn.release(r.cs, err != nil)
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
