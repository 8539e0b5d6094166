// Package sqlite stands in for github.com/glebarez/go-sqlite, the driver
// the GORM dialector github.com/glebarez/sqlite imports (go.mod replaces it
// with this folder). That driver is a 2023 fork of modernc.org/sqlite whose
// statements parse their SQL again on every execution; modernc.org/sqlite,
// which it forked and whose C translation it already used, keeps a prepared
// statement between executions (issue 17). This package registers
// modernc.org/sqlite as the "sqlite" database/sql driver, as the fork did,
// and gives the dialector the one name it uses: the driver's error type, by
// which it recognises unique and foreign-key violations.
package sqlite

import "modernc.org/sqlite"

// Error is the driver's error; Code returns SQLite's extended result code.
type Error = sqlite.Error
