-- Dynamic client registration (RFC 7591, RFC 7592): the hash of each registered client's
-- registration access token, and the initial access tokens operators issue (hashes only;
-- uses_left NULL for any number of registrations until expires_at).
CREATE TABLE client_registrations (
    client_id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    issued_at BIGINT NOT NULL
);
CREATE TABLE initial_access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    uses_left INTEGER,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
