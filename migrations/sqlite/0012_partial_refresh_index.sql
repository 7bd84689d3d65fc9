-- Most tokens carry no refresh token (client credentials, and access tokens
-- whose client may not refresh). The UNIQUE constraint on `refresh_hash`
-- indexed every row, a NULL entry included, so that every batch of new
-- tokens dirtied a page of that index as well; a partial index leaves them
-- out (about 15% fewer pages written per batch, and so fewer WAL restarts:
-- BENCHMARKS.md). Lookups (`refresh_hash = $1`) imply `refresh_hash IS NOT
-- NULL`, so they use it. SQLite cannot drop a column's UNIQUE constraint:
-- the table is rebuilt, its rows copied in their order (the number is the
-- same as the Postgres migration doing the same).
CREATE TABLE tokens_rebuilt (
    access_hash        BLOB NOT NULL PRIMARY KEY CHECK (length(access_hash) = 32),
    refresh_hash       BLOB CHECK (refresh_hash IS NULL OR length(refresh_hash) = 32),
    client_id          TEXT NOT NULL,
    subject            TEXT,
    scope              TEXT NOT NULL,
    family             TEXT NOT NULL,
    issued_at          INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_expires_at INTEGER,
    rotated            INTEGER NOT NULL DEFAULT 0 CHECK (rotated IN (0, 1)),
    refresh_scope      TEXT,
    jkt                TEXT
) STRICT;

INSERT INTO tokens_rebuilt (
    access_hash, refresh_hash, client_id, subject, scope, family, issued_at,
    expires_at, refresh_expires_at, rotated, refresh_scope, jkt
)
SELECT
    access_hash, refresh_hash, client_id, subject, scope, family, issued_at,
    expires_at, refresh_expires_at, rotated, refresh_scope, jkt
FROM tokens ORDER BY rowid;

DROP TABLE tokens;
ALTER TABLE tokens_rebuilt RENAME TO tokens;

CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE UNIQUE INDEX tokens_refresh_hash ON tokens (refresh_hash) WHERE refresh_hash IS NOT NULL;
