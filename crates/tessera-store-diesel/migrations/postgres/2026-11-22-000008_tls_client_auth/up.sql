-- RFC 8705 §2.1 tls_client_auth: the subject DN (RFC 4514 string) of a client's CA-issued
-- certificates.
ALTER TABLE clients ADD COLUMN tls_subject_dn TEXT;
