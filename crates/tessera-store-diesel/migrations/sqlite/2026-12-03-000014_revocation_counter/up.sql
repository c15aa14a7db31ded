-- A change counter for the JWT denylist: every node keeps the denied jtis in memory and reloads
-- them when it moves (introspection and the gateway check read no table per request).
INSERT INTO store_versions (name, version) VALUES ('revocations', 0);
