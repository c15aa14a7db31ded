-- OpenID Provider registration metadata: post-logout redirect URIs (space-separated, apart from
-- the redirect URIs), the back-channel logout URI, the ID-token algorithm, and the per-client
-- opt-in to refresh tokens from client_credentials (RFC 6749 §4.4.3: off by default; clients
-- that already had both grants keep what they got before). Codes remember their session's sid.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN id_token_alg TEXT;
ALTER TABLE clients ADD COLUMN refresh_with_client_credentials BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients SET refresh_with_client_credentials = TRUE
    WHERE (' ' || grant_types || ' ') LIKE '% client_credentials %'
      AND (' ' || grant_types || ' ') LIKE '% refresh_token %';
ALTER TABLE authorization_codes ADD COLUMN sid TEXT;
