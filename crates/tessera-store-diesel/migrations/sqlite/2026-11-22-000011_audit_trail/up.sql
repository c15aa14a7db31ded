-- The audit trail of security events; kept for audit.retention_days.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    client_id TEXT,
    subject   TEXT,
    source    TEXT,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
