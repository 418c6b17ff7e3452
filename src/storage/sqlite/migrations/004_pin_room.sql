-- Version 4: room for a PIN's later writes, as version 3 gave codes (docs/decisions/0097).
-- A PIN is written without its first poll time and its grant; its first poll, its approval
-- and a wrong try add up to 15 bytes. It is written with 16 spare bytes in `room`, which
-- the first of those writes sets to NULL: the row never grows past its first size.
ALTER TABLE pins ADD COLUMN room BLOB;
