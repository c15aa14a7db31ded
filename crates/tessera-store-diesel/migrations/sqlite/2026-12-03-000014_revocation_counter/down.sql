DELETE FROM store_versions WHERE name = 'revocations';
