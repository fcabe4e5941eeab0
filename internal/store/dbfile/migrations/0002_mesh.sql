-- Every replicated record, of every kind, as its exact signed bytes.
-- log_seq orders records by when this node stored them: anti-entropy
-- peers ask for "everything after log_seq N".
CREATE TABLE records (
	id          BLOB PRIMARY KEY CHECK (length(id) = 32), -- sha256 of raw
	kind        INTEGER NOT NULL,
	author      TEXT NOT NULL,       -- node ID
	seq         INTEGER NOT NULL,    -- the author's sequence
	key         TEXT NOT NULL,       -- kind-specific: author (node, sysinfo), subject (admit, revoke)
	time_ms     INTEGER NOT NULL,    -- when the author signed it
	raw         BLOB NOT NULL,
	log_seq     INTEGER NOT NULL UNIQUE,
	received_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX records_by_kind_key ON records(kind, key, seq);
CREATE INDEX records_by_author ON records(author, seq);
CREATE INDEX records_by_log ON records(log_seq);

-- Nodes this node's operator trusts directly (a ticket given to run or
-- peers add, an approval, an accepted invite).
CREATE TABLE trust (
	node_id  TEXT PRIMARY KEY,
	source   TEXT NOT NULL,             -- ticket, approve, invite
	addrs    TEXT NOT NULL DEFAULT '[]', -- JSON multiaddrs from the ticket
	added_ms INTEGER NOT NULL
) STRICT;

-- What this node knows about other nodes: filled from node records for
-- members and from the hello exchange for pending nodes; liveness from
-- heartbeats.
CREATE TABLE peers (
	node_id        TEXT PRIMARY KEY,
	hostname       TEXT NOT NULL DEFAULT '',
	age_recipient  TEXT NOT NULL DEFAULT '',
	agent_version  TEXT NOT NULL DEFAULT '',
	addrs          TEXT NOT NULL DEFAULT '[]', -- JSON multiaddrs it announced
	seen_addrs     TEXT NOT NULL DEFAULT '[]', -- JSON remote addresses it connected from
	started_ms     INTEGER NOT NULL DEFAULT 0,
	first_seen_ms  INTEGER NOT NULL,
	last_seen_ms   INTEGER NOT NULL DEFAULT 0,
	online         INTEGER NOT NULL DEFAULT 0,
	ignored        INTEGER NOT NULL DEFAULT 0  -- pending node the operator chose to ignore
) STRICT;

-- Anti-entropy cursors: how far into each peer's log this node has pulled.
CREATE TABLE sync_cursors (
	peer     TEXT PRIMARY KEY,
	index_id BLOB NOT NULL,  -- the peer's log identity; a new one restarts from 0
	seq      INTEGER NOT NULL,
	synced_ms INTEGER NOT NULL
) STRICT;

-- One-time invites this node issued (the trust issue fills it).
CREATE TABLE invites (
	token_hash BLOB PRIMARY KEY,  -- sha256 of the token; the token itself is never stored
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL,
	used_ms    INTEGER,
	used_by    TEXT
) STRICT;
