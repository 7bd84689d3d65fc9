-- granted's storage schema (SQLite). Only hashes of tokens and codes are
-- stored (32-byte SHA-256 blobs), never the values handed to clients.

-- Registered clients. `redirect_uris` and `grant_types` are JSON arrays of
-- strings; `scope` is space-separated; `secret_hash` is NULL for a public client.
CREATE TABLE clients (
    client_id     TEXT NOT NULL PRIMARY KEY,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    scope         TEXT NOT NULL,
    auth_method   TEXT NOT NULL
) STRICT;

-- Resource owners; `password_hash` is an argon2 PHC string.
CREATE TABLE users (
    subject       TEXT NOT NULL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
) STRICT;

-- Authorization codes, removed when redeemed.
CREATE TABLE codes (
    code_hash             BLOB NOT NULL PRIMARY KEY CHECK (length(code_hash) = 32),
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT,
    scope                 TEXT NOT NULL,
    subject               TEXT NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    expires_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX codes_expires_at ON codes (expires_at);

-- Issued tokens. A rotated refresh token stays (rotated = 1) so that its
-- reuse can be detected; the UNIQUE constraint indexes `refresh_hash`.
CREATE TABLE tokens (
    access_hash        BLOB NOT NULL PRIMARY KEY CHECK (length(access_hash) = 32),
    refresh_hash       BLOB UNIQUE CHECK (refresh_hash IS NULL OR length(refresh_hash) = 32),
    client_id          TEXT NOT NULL,
    subject            TEXT,
    scope              TEXT NOT NULL,
    family             TEXT NOT NULL,
    issued_at          INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_expires_at INTEGER,
    rotated            INTEGER NOT NULL DEFAULT 0 CHECK (rotated IN (0, 1))
) STRICT;

CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
