-- DPoP (RFC 9449): the key a token is bound to (its JWK SHA-256
-- thumbprint, `cnf.jkt`; NULL for a bearer token), the clients that must use
-- DPoP, and the proofs already seen, each accepted once by every instance
-- (keyed by the SHA-256 of the proof's key and `jti`, kept until `expires_at`).
ALTER TABLE tokens ADD COLUMN jkt TEXT;

ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (dpop_bound_access_tokens IN (0, 1));

CREATE TABLE dpop_proofs (
    key_hash   BLOB NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
    expires_at BIGINT NOT NULL
);

CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
