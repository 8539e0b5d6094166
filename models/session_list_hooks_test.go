package models

// SetSessionFilterFirstMax sets the match count up to which SQLite lists
// a name-prefix filter by sorting all its matches (see listSessions) and
// returns the previous value. Compiled into tests only.
func SetSessionFilterFirstMax(n int64) int64 { return sessionFilterFirstMax.Swap(n) }
