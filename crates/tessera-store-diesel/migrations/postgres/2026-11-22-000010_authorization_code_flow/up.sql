-- The authorization code flow: clients' redirect URIs (space-separated), codes (by hash, with
-- what their redemption issued), browser sessions (by hash) and remembered consent.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
CREATE TABLE authorization_codes (
    hash                  TEXT PRIMARY KEY NOT NULL,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    redirect_uri_explicit BOOLEAN NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    auth_time             BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    redeemed_at           BIGINT,
    issued_family_id      TEXT,
    issued_jti            TEXT,
    issued_expires_at     BIGINT
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
