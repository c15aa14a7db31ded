-- The user directory.
CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    logon      TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL,   -- active | locked | disabled
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
