ALTER TABLE authorization_codes DROP COLUMN resources;
ALTER TABLE refresh_families DROP COLUMN resources;
ALTER TABLE clients DROP COLUMN resources;
