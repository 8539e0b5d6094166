package migrations

// Provider exposes the goose provider to the external tests.
var Provider = provider
