-- Tessera's initial schema. Portable types only (TEXT, BIGINT, BOOLEAN, and BYTEA where SQLite has
-- BLOB), so these PostgreSQL migrations mirror the SQLite ones line for line.

CREATE TABLE clients (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    auth_methods     TEXT NOT NULL,  -- space-separated RFC 7591 method names
    grant_types      TEXT NOT NULL,  -- space-separated grant types
    allowed_scopes   TEXT NOT NULL,  -- RFC 6749 §3.3 scope list
    default_scopes   TEXT NOT NULL,
    roles            TEXT NOT NULL,  -- space-separated roles
    audience         TEXT,
    access_token_ttl BIGINT,
    signing_alg      TEXT,
    enabled          BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Verifiers of client secrets, never the secrets. Kept apart from the clients so a client can hold
-- several during a rotation.
CREATE TABLE client_secrets (
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL,        -- 'hmac-sha256' | 'argon2id'
    verifier   TEXT NOT NULL,        -- base64url HMAC, or an argon2id PHC string
    created_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, position)
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL,      -- published | active | retiring | retired
    private_der  BYTEA NOT NULL,      -- PKCS#8
    created_at   BIGINT NOT NULL,
    activated_at BIGINT
);

-- Server-wide secrets (the client-secret pepper), apart from what they protect.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Change counters that caches poll: bumped in the same transaction as every write they cover.
CREATE TABLE store_versions (
    name    TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO store_versions (name, version) VALUES ('clients', 0), ('keys', 0);
