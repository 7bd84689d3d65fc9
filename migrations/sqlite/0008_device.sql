-- The device authorization grant (RFC 8628): one row per device
-- authorization, keyed by the SHA-256 of its device code; the user code is
-- kept as the SHA-256 of its normalized form (upper case, no dashes), never
-- in clear. The user's decision is set once, while `pending`; a decided row
-- is taken (deleted) once by the token endpoint.
CREATE TABLE device_authorizations (
    device_code_hash BLOB NOT NULL PRIMARY KEY CHECK (length(device_code_hash) = 32),
    user_code_hash   BLOB NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),
    client_id        TEXT NOT NULL,
    scope            TEXT NOT NULL,
    expires_at       INTEGER NOT NULL,
    poll_interval    INTEGER NOT NULL CHECK (poll_interval > 0),
    last_polled_at   INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    subject          TEXT,
    auth_time        INTEGER,
    CHECK (status <> 'approved' OR (subject IS NOT NULL AND auth_time IS NOT NULL))
) STRICT;

CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
