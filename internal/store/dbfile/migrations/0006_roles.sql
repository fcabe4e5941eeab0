-- Roles. A trusted node carries the role this node's operator gave it:
-- the node it joined through is an admin (source 'join'); a node added by
-- ticket, approval or invite has the role chosen then. Rows written before
-- roles keep the flat model they were made under: every one is an admin.
ALTER TABLE trust ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'node'));

-- Secret heads: 'creator' now holds the author of the lowest version that
-- counts (shown as the original author).

-- The role an invite gives the node that uses it.
ALTER TABLE invites ADD COLUMN role TEXT NOT NULL DEFAULT 'node' CHECK (role IN ('admin', 'node'));
