package models

// WithFilterFirstMax returns a Store on the same database whose session
// lists use SessionOptions.FilterFirstMax n, so that tests can compare
// both of SQLite's plans on the same rows.
func (s *Store) WithFilterFirstMax(n int64) *Store {
	c := *s
	c.opts.Sessions.FilterFirstMax = n
	return &c
}
