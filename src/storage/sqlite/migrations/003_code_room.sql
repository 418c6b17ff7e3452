-- Version 3: room for a code's consumption (docs/decisions/0097). A code is written
-- without consumed_at and grant_id; its exchange adds them (up to 16 bytes), and the
-- grown row no longer fits a full table page: SQLite rebalances the page, and the page
-- cache renumbering that costs walks the whole cache at commit. Codes are written with
-- 16 spare bytes in `room`, which their consumption sets to NULL: the row never grows.
ALTER TABLE auth_codes ADD COLUMN room BLOB;
