-- The scope of a token's refresh token when a refresh narrowed the access
-- token's scope (RFC 6749 §6: the new refresh token keeps the scope of the
-- one presented). NULL means the same as `scope`, which every row written
-- before this migration is.
ALTER TABLE tokens ADD COLUMN refresh_scope TEXT;
