-- The audit log: what happened on this node, newest last.
CREATE TABLE events (
	id      INTEGER PRIMARY KEY,
	time_ms INTEGER NOT NULL,           -- unix milliseconds
	type    TEXT NOT NULL,              -- e.g. node.start, record.rejected
	node    TEXT NOT NULL DEFAULT '',   -- node ID the event is about
	secret  TEXT NOT NULL DEFAULT '',   -- secret name the event is about
	message TEXT NOT NULL,
	data    TEXT CHECK (data IS NULL OR json_valid(data)) -- JSON object
) STRICT;
CREATE INDEX events_by_type ON events(type, id);
CREATE INDEX events_by_node ON events(node, id) WHERE node != '';
CREATE INDEX events_by_secret ON events(secret, id) WHERE secret != '';

-- Small facts about this database (e.g. the highest record sequence).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
