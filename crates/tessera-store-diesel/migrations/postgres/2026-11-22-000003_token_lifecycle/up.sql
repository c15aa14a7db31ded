-- Token lifecycle: opaque access tokens, refresh-token families, the JWT denylist.

ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'jwt';

CREATE TABLE refresh_families (
    id         TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);

-- Only hashes (SHA-256, base64url) of refresh tokens are stored.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    rotated_at BIGINT,
    successor  TEXT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

CREATE TABLE opaque_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    iss        TEXT NOT NULL,
    sub        TEXT NOT NULL,
    aud        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    roles      TEXT NOT NULL,
    jti        TEXT NOT NULL,
    iat        BIGINT NOT NULL,
    exp        BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX opaque_tokens_exp ON opaque_tokens (exp);

CREATE TABLE revoked_jtis (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_jtis_expires_at ON revoked_jtis (expires_at);
