-- DPoP (RFC 9449): the key a token is bound to (its JWK SHA-256
-- thumbprint, `cnf.jkt`; NULL for a bearer token), the clients that must use
-- DPoP, and the proofs already seen, each accepted once by every instance
-- (keyed by the SHA-256 of the proof's key and `jti`, kept until `expires_at`).
ALTER TABLE tokens ADD COLUMN jkt TEXT;

ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE dpop_proofs (
    key_hash   BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(key_hash) = 32),
    expires_at BIGINT NOT NULL
);

CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
