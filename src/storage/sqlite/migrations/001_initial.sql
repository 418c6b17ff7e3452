-- keyfob schema, version 1. Times are integer milliseconds since the epoch.
-- Secrets are never stored raw: client secrets, codes and tokens appear only as SHA-256 hashes.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  display_name  TEXT NOT NULL DEFAULT '',
  timezone      TEXT NOT NULL DEFAULT 'UTC',
  account_type  TEXT NOT NULL DEFAULT 'free',
  gender        TEXT NOT NULL DEFAULT '',
  avatar        TEXT NOT NULL DEFAULT '',
  bio           TEXT NOT NULL DEFAULT '',
  loc           TEXT NOT NULL DEFAULT '',
  age           TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL
);

CREATE TABLE apps (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id     TEXT NOT NULL UNIQUE,
  owner_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  secret_hash   TEXT,
  dialect       TEXT NOT NULL DEFAULT 'v1',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX apps_owner ON apps(owner_id);

CREATE TABLE auth_codes (
  code_hash             TEXT PRIMARY KEY,
  app_id                INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  user_id               INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri          TEXT,
  code_challenge        TEXT,
  code_challenge_method TEXT,
  app_name              TEXT,
  app_version           TEXT,
  user_agent            TEXT,
  created_at            INTEGER NOT NULL,
  expires_at            INTEGER NOT NULL
);
CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);

CREATE TABLE grants (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  app_id        INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  dialect       TEXT NOT NULL,
  scope         TEXT NOT NULL,
  token_seed    TEXT NOT NULL,
  flow          TEXT NOT NULL,
  app_name      TEXT,
  app_version   TEXT,
  user_agent    TEXT,
  created_at    INTEGER NOT NULL,
  authorized_at INTEGER NOT NULL,
  revoked_at    INTEGER,
  request_count INTEGER NOT NULL DEFAULT 0,
  last_used_at  INTEGER
);
-- The same-token rule: at most one live V1 grant per (user, app).
CREATE UNIQUE INDEX grants_one_live_v1 ON grants(user_id, app_id) WHERE dialect = 'v1' AND revoked_at IS NULL;
CREATE INDEX grants_user ON grants(user_id);

CREATE TABLE access_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id   INTEGER NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);

CREATE TABLE pins (
  user_code       TEXT PRIMARY KEY,
  app_id          INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  redirect        TEXT,
  app_name        TEXT,
  app_version     TEXT,
  user_agent      TEXT,
  created_ip      TEXT,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  grant_id        INTEGER REFERENCES grants(id) ON DELETE CASCADE,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  last_polled_at  INTEGER
);
CREATE INDEX pins_app ON pins(app_id, expires_at);
CREATE INDEX pins_expiry ON pins(expires_at);

CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);
