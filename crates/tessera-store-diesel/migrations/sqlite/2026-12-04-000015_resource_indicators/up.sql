-- Resource indicators (RFC 8707): the resources a client may ask tokens for, and the resources a
-- refresh-token family and an authorization code were granted for, space-separated (absolute
-- URIs hold no spaces); empty for the client's default audience.
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
