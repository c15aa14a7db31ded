ALTER TABLE opaque_tokens DROP COLUMN cnf;
ALTER TABLE clients DROP COLUMN cert_thumbprints;
