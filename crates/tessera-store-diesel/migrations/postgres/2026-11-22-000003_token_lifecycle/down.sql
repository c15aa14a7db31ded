DROP TABLE revoked_jtis;
DROP TABLE opaque_tokens;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
ALTER TABLE clients DROP COLUMN access_token_format;
