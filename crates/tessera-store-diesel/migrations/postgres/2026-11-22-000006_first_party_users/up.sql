-- First-party user grants (AuthMe): one-time params, the user context of remember-me families,
-- and the strongest assurance level a client may grant.

ALTER TABLE clients ADD COLUMN max_assurance TEXT;

ALTER TABLE refresh_families ADD COLUMN acr TEXT;
ALTER TABLE refresh_families ADD COLUMN user_id TEXT;
ALTER TABLE refresh_families ADD COLUMN logon TEXT;
ALTER TABLE refresh_families ADD COLUMN device_id TEXT;
ALTER TABLE refresh_families ADD COLUMN default_client_id TEXT;

-- Only hashes (SHA-256, base64url) of params are stored.
CREATE TABLE params (
    hash       TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX params_expires_at ON params (expires_at);
