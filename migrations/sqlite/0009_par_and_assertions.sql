-- Pushed authorization requests (RFC 9126) and private_key_jwt client
-- authentication (RFC 7523): the clients' new registration fields, the
-- pushed requests (keyed by the SHA-256 of their request_uri, never the
-- value), and the ids of used client assertions (the SHA-256 of the client
-- id and jti, unique: a second use is refused on every instance).

-- A JWK Set (JSON) of the client's public keys, for private_key_jwt.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
    CHECK (require_pushed_authorization_requests IN (0, 1));

CREATE TABLE pushed_requests (
    request_uri_hash BLOB NOT NULL PRIMARY KEY CHECK (length(request_uri_hash) = 32),
    client_id        TEXT NOT NULL,
    params           TEXT NOT NULL,
    expires_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

CREATE TABLE assertion_jtis (
    jti_hash   BLOB NOT NULL PRIMARY KEY CHECK (length(jti_hash) = 32),
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX assertion_jtis_expires_at ON assertion_jtis (expires_at);
