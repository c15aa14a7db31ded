DROP TABLE params;
ALTER TABLE refresh_families DROP COLUMN default_client_id;
ALTER TABLE refresh_families DROP COLUMN device_id;
ALTER TABLE refresh_families DROP COLUMN logon;
ALTER TABLE refresh_families DROP COLUMN user_id;
ALTER TABLE refresh_families DROP COLUMN acr;
ALTER TABLE clients DROP COLUMN max_assurance;
