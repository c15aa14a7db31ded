-- A client secret replaced by a rotation keeps working until its grace period ends.
ALTER TABLE client_secrets ADD COLUMN expires_at BIGINT;
