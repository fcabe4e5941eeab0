-- Invites this node holds as a joiner: presented to the inviter until it
-- admits this node, refuses the token, or the token expires.
CREATE TABLE invite_claims (
	inviter    TEXT PRIMARY KEY,   -- node ID
	token      BLOB NOT NULL,
	expires_ms INTEGER NOT NULL,
	state      TEXT NOT NULL DEFAULT 'pending', -- pending, accepted, refused
	detail     TEXT NOT NULL DEFAULT ''
) STRICT;
