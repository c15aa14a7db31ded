ALTER TABLE clients DROP COLUMN tls_subject_dn;
