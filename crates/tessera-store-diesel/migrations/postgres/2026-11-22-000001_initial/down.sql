DROP TABLE store_versions;
DROP TABLE server_secrets;
DROP TABLE signing_keys;
DROP TABLE client_secrets;
DROP TABLE clients;
