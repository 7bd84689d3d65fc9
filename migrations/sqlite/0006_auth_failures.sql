-- Failed authentications counted together by every instance sharing the
-- database (granted's `FailureStore`): per scope (`client_id`, `username`,
-- `source`) and key (the SHA-256 of the name, 32 bytes). `expires_at` is when
-- the row stops mattering: the end of the lock-out when `locked_until` is
-- set, of the counting window otherwise. Times are wall-clock milliseconds.
CREATE TABLE auth_failures (
    scope        TEXT NOT NULL,
    key_hash     BLOB NOT NULL CHECK (length(key_hash) = 32),
    failures     INTEGER NOT NULL,
    locked_until INTEGER,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key_hash)
) STRICT;

CREATE INDEX auth_failures_locked ON auth_failures (scope, locked_until);
CREATE INDEX auth_failures_expires_at ON auth_failures (expires_at);
