-- RFC 8705 certificate binding: clients' registered certificate thumbprints (x5t#S256,
-- space-separated) and the binding of opaque tokens.
ALTER TABLE clients ADD COLUMN cert_thumbprints TEXT NOT NULL DEFAULT '';
ALTER TABLE opaque_tokens ADD COLUMN cnf TEXT;
