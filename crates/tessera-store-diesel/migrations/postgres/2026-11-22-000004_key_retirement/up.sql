-- A retiring key stays in the JWKS until every token it signed has expired.
ALTER TABLE signing_keys ADD COLUMN retire_at BIGINT;
