-- Every stored secret version, by its record. Versions that do not count
-- (a third member's update) are kept too, so that every node resolves the
-- same set the same way.
CREATE TABLE secrets (
	id          BLOB PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	target      TEXT NOT NULL,       -- node ID
	version     INTEGER NOT NULL,
	author      TEXT NOT NULL,       -- node ID
	created_ms  INTEGER NOT NULL,
	tombstone   INTEGER NOT NULL,
	share_group BLOB NOT NULL,
	restart     TEXT NOT NULL DEFAULT '[]', -- JSON unit names
	ct_size     INTEGER NOT NULL,    -- ciphertext bytes (0 for a tombstone)
	ct_hash     BLOB                 -- SHA-256 of the ciphertext, for display; never of plaintext
) STRICT, WITHOUT ROWID;
CREATE INDEX secrets_by_key ON secrets(name, target, version);
CREATE INDEX secrets_by_target ON secrets(target);
CREATE INDEX secrets_by_group ON secrets(share_group);

-- The resolved state of each (name, target): record.Resolve over its
-- versions, kept up to date by every write.
CREATE TABLE secret_heads (
	name       TEXT NOT NULL,
	target     TEXT NOT NULL,
	creator    TEXT NOT NULL DEFAULT '', -- the original author ('' while unknown)
	current_id BLOB,                     -- the version in force, NULL when none counts
	version    INTEGER NOT NULL DEFAULT 0,
	tombstone  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (name, target)
) STRICT;

-- The current version of every secret, one row per (name, target).
CREATE VIEW current_secrets AS
	SELECT s.*, h.creator AS creator
	FROM secret_heads h JOIN secrets s ON s.id = h.current_id;

-- Copies of secrets this node authored for other targets, encrypted to
-- this node's own age key. Local only, never replicated: they let the
-- author share a secret it wrote to more nodes.
CREATE TABLE own_copies (
	share_group BLOB NOT NULL,
	version     INTEGER NOT NULL,
	name        TEXT NOT NULL,
	ciphertext  BLOB NOT NULL,
	created_ms  INTEGER NOT NULL,
	PRIMARY KEY (share_group, version)
) STRICT;
