-- Secrets every instance sharing the database must agree on, created once
-- by whichever instance starts first (e.g. the key of the login form's CSRF
-- tokens). Values are random and high-entropy; protect the database.
CREATE TABLE server_secrets (
    name       TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
