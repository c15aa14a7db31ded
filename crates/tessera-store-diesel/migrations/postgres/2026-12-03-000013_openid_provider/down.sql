DROP TABLE logout_notices;
DROP TABLE session_clients;
ALTER TABLE sessions DROP COLUMN sid;
ALTER TABLE authorization_codes DROP COLUMN sid;
ALTER TABLE clients DROP COLUMN refresh_with_client_credentials;
ALTER TABLE clients DROP COLUMN id_token_alg;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris;
