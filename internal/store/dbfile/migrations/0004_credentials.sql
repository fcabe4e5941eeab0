-- The latest receipt of each target for each of its secrets: what the
-- target did with which version (kept from the latest receipt record).
CREATE TABLE receipts (
	target    TEXT NOT NULL,    -- node ID (the receipt's author)
	name      TEXT NOT NULL,
	version   INTEGER NOT NULL,
	secret_id BLOB NOT NULL,    -- the secret version's record ID
	state     TEXT NOT NULL,    -- written, removed, failed
	error     TEXT NOT NULL DEFAULT '',
	at_ms     INTEGER NOT NULL,
	record_id BLOB NOT NULL,
	PRIMARY KEY (target, name)
) STRICT;

-- This node's credential files: which version of each secret was last
-- written successfully, so that it is written again only when it changes.
CREATE TABLE cred_state (
	name       TEXT PRIMARY KEY,
	secret_id  BLOB NOT NULL,
	version    INTEGER NOT NULL,
	written_ms INTEGER NOT NULL
) STRICT;
