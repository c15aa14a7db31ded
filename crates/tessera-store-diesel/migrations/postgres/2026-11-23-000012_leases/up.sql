-- Leases on jobs that must run on one node at a time (the signing-key lifecycle).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
