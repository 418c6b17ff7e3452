-- Version 2: a consumed authorization code stays as a tombstone until it expires, so a
-- second use can be told apart from an unknown code (RFC 6749 §4.1.2: deny, and revoke
-- what the code produced when possible; docs/decisions/0070). Cleanup removes tombstones
-- with the expired codes (expires_at is unchanged). Same columns as the SQLite migration.
ALTER TABLE auth_codes ADD COLUMN consumed_at BIGINT;
-- The grant the first exchange of this code produced, and whether that exchange created it.
ALTER TABLE auth_codes ADD COLUMN grant_id BIGINT REFERENCES grants(id) ON DELETE SET NULL;
ALTER TABLE auth_codes ADD COLUMN grant_created BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX auth_codes_grant ON auth_codes(grant_id);
