-- Most tokens carry no refresh token (client credentials, and access tokens
-- whose client may not refresh). A unique index over every row still gets an
-- entry for each NULL; a partial one leaves them out, so that issuing such a
-- token updates one index fewer. Lookups (`refresh_hash = $1`) imply
-- `refresh_hash IS NOT NULL`, so they use it.
ALTER TABLE tokens DROP CONSTRAINT tokens_refresh_hash_key;
CREATE UNIQUE INDEX tokens_refresh_hash ON tokens (refresh_hash) WHERE refresh_hash IS NOT NULL;
