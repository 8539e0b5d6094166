-- +goose Up
-- The warehouse's search rows are written by the Store just before each
-- transaction that creates sessions commits, in one statement for all of
-- them (models/audit.go, writeSearchRows): the trigger wrote one FTS5
-- segment per session start (issue 17).
DROP TRIGGER warehouse_sessions_search_add;

-- +goose Down
-- +goose StatementBegin
CREATE TRIGGER warehouse_sessions_search_add AFTER INSERT ON warehouse_sessions
BEGIN INSERT INTO warehouse_sessions_search (session_id, search_text) VALUES (NEW.session_id, NEW.search_text); END;
-- +goose StatementEnd
