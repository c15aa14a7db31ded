-- OpenID Provider registration metadata: post-logout redirect URIs (space-separated, apart from
-- the redirect URIs), the back-channel logout URI, the ID-token algorithm, and the per-client
-- opt-in to refresh tokens from client_credentials (RFC 6749 §4.4.3: off by default; clients
-- that already had both grants keep what they got before). Codes and sessions carry the sid;
-- Back-Channel Logout keeps which clients took part in a session and the notices to deliver.
-- Users get the phone and address claims (Core §5.1).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN id_token_alg TEXT;
ALTER TABLE clients ADD COLUMN refresh_with_client_credentials BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients SET refresh_with_client_credentials = TRUE
    WHERE (' ' || grant_types || ' ') LIKE '% client_credentials %'
      AND (' ' || grant_types || ' ') LIKE '% refresh_token %';
ALTER TABLE authorization_codes ADD COLUMN sid TEXT;
ALTER TABLE sessions ADD COLUMN sid TEXT;
CREATE TABLE session_clients (
    sid        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX session_clients_expires_at ON session_clients (expires_at);
CREATE TABLE logout_notices (
    jti             TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             TEXT,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    give_up_at      BIGINT NOT NULL
);
CREATE INDEX logout_notices_next_attempt_at ON logout_notices (next_attempt_at);
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN phone_number_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN street_address TEXT;
ALTER TABLE users ADD COLUMN locality TEXT;
ALTER TABLE users ADD COLUMN region TEXT;
ALTER TABLE users ADD COLUMN postal_code TEXT;
ALTER TABLE users ADD COLUMN country TEXT;
