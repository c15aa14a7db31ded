ALTER TABLE client_secrets DROP COLUMN expires_at;
