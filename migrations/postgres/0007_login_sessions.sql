-- Login sessions of the login page, shared by every instance on the
-- database: keyed by the SHA-256 of the session cookie (never the cookie).
CREATE TABLE login_sessions (
    session_hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(session_hash) = 32),
    subject      TEXT NOT NULL,
    username     TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);

-- What the user approved during a session (one row per approval, so that
-- approvals on two instances at once are both kept).
CREATE TABLE login_consents (
    session_hash BYTEA NOT NULL,
    client_id    TEXT NOT NULL,
    scope        TEXT NOT NULL
);

CREATE INDEX login_consents_session ON login_consents (session_hash);
