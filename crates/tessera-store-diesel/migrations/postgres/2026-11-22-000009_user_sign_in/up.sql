-- Users sign in with a password (argon2id PHC string) and release OpenID Connect profile claims;
-- failed sign-ins are counted per user (locking it for a while) and per source address.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
CREATE TABLE sign_in_failures (
    address     TEXT PRIMARY KEY NOT NULL,
    failures    INTEGER NOT NULL,
    window_ends BIGINT NOT NULL
);
