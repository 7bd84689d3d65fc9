-- Revoked token families, one tombstone each: a token saved into a revoked
-- family afterwards (by a code redemption still in flight when a replay of
-- its code revoked the family) is not stored. Tombstones older than the
-- retention period (REVOKED_FAMILY_RETENTION_SECS) are purged.
CREATE TABLE revoked_families (
    family     TEXT NOT NULL PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);

CREATE INDEX revoked_families_revoked_at ON revoked_families (revoked_at);
