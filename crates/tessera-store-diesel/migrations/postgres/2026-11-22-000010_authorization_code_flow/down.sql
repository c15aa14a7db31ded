DROP TABLE consents;
DROP TABLE sessions;
DROP TABLE authorization_codes;
ALTER TABLE clients DROP COLUMN redirect_uris;
