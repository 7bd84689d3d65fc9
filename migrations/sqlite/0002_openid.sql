-- OpenID Connect: when the user logged in (the id_token's auth_time), the
-- users' standard claims, and the id_token signing keys.

ALTER TABLE codes ADD COLUMN auth_time INTEGER;

-- A JSON object of OpenID Connect standard claims (never `sub`).
ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';

-- Private keys as PKCS#8 PEM. Published in the JWKS until retired; the
-- newest published key of an algorithm (the highest `id`) signs.
CREATE TABLE signing_keys (
    id          INTEGER PRIMARY KEY,
    kid         TEXT NOT NULL UNIQUE,
    alg         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
) STRICT;
