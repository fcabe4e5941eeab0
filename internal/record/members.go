package record

import (
	"slices"
	"time"
)

// Members is a node's view of who belongs to the mesh and with which
// role. Package membership computes it (NewMembers assembles it); it is
// immutable and safe to share.
type Members struct {
	self    NodeID
	role    map[NodeID]Role
	revoked map[NodeID]Revocation
	// kept holds, for a node that was an admin and no longer is (revoked
	// or demoted), the records of its that still count (its pin).
	kept map[NodeID]map[ID]bool
}

// NewMembers assembles a membership view: the role of every member, the
// revocation of every revoked node, and, for a node that was an admin and
// no longer is, the IDs of its records that still count (its pin). The
// maps are owned by the result from then on; callers must not change them.
func NewMembers(self NodeID, roles map[NodeID]Role, revoked map[NodeID]Revocation, kept map[NodeID]map[ID]bool) *Members {
	if roles == nil {
		roles = map[NodeID]Role{}
	}
	if revoked == nil {
		revoked = map[NodeID]Revocation{}
	}
	if kept == nil {
		kept = map[NodeID]map[ID]bool{}
	}
	return &Members{self: self, role: roles, revoked: revoked, kept: kept}
}

// Revocation says who revoked a node, when and why (the earliest of the
// revokes that count), and which revoke records count.
type Revocation struct {
	By      []NodeID
	At      time.Time
	Reason  string
	Records []ID
}

// Self returns this node's ID.
func (m *Members) Self() NodeID { return m.self }

// IsMember reports whether id is a member.
func (m *Members) IsMember(id NodeID) bool {
	if m == nil {
		return false
	}
	_, ok := m.role[id]
	return ok
}

// IsAdmin reports whether id is a member with the admin role.
func (m *Members) IsAdmin(id NodeID) bool { return m != nil && m.role[id] == RoleAdmin }

// Role returns a member's role (0 for a non-member).
func (m *Members) Role(id NodeID) Role {
	if m == nil {
		return 0
	}
	return m.role[id]
}

// IsRevoked reports whether id has been revoked by a revoke that counts.
func (m *Members) IsRevoked(id NodeID) bool {
	if m == nil {
		return false
	}
	_, ok := m.revoked[id]
	return ok
}

// Revocation returns why id is revoked, when it is.
func (m *Members) Revocation(id NodeID) (Revocation, bool) {
	if m == nil {
		return Revocation{}, false
	}
	r, ok := m.revoked[id]
	return r, ok
}

// Len returns the number of members, this node included when it is one.
func (m *Members) Len() int { return len(m.role) }

// List returns the members, sorted.
func (m *Members) List() []NodeID {
	out := make([]NodeID, 0, len(m.role))
	for id := range m.role {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Revoked returns the revoked nodes, sorted.
func (m *Members) Revoked() []NodeID {
	out := make([]NodeID, 0, len(m.revoked))
	for id := range m.revoked {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Counts reports whether a record that needs authority (an admit, a
// revoke, or a secret version for another node than its author) counts:
// its author is an admin, or was one and the record that ended that
// pinned this record.
func (m *Members) Counts(author NodeID, id ID) bool {
	if m == nil {
		return false
	}
	return m.role[author] == RoleAdmin || m.kept[author][id]
}

// MayWriteSecret reports whether author may write a version of a secret
// for target: the target itself, or an admin.
func (m *Members) MayWriteSecret(author, target NodeID) bool {
	return m.IsMember(author) && (author == target || m.IsAdmin(author))
}

// Accepts reports whether a record by author is worth storing: the author
// is a member, or a revoked former admin and the record is one its
// revocation pinned.
func (m *Members) Accepts(author NodeID, id ID) bool {
	return m.IsMember(author) || (m.IsRevoked(author) && m.kept[author][id])
}

// Same reports whether two views agree on everything records depend on:
// members, roles, revocations and pins.
func (m *Members) Same(o *Members) bool {
	if m == nil || o == nil {
		return m == o
	}
	if len(m.role) != len(o.role) || len(m.revoked) != len(o.revoked) || len(m.kept) != len(o.kept) {
		return false
	}
	for id, r := range m.role {
		if o.role[id] != r {
			return false
		}
	}
	for id, r := range m.revoked {
		if !slices.Equal(o.revoked[id].Records, r.Records) {
			return false
		}
	}
	for id, k := range m.kept {
		ok := o.kept[id]
		if len(ok) != len(k) {
			return false
		}
		for rid := range k {
			if !ok[rid] {
				return false
			}
		}
	}
	return true
}

// Grew reports whether o has a member, a role or a kept record that m
// lacks, or m revoked a node o does not: records refused under m may be
// accepted under o.
func (m *Members) Grew(o *Members) bool {
	for id, r := range o.role {
		if m.role[id] < r {
			return true
		}
	}
	for id := range m.revoked {
		if !o.IsRevoked(id) {
			return true
		}
	}
	for id, k := range o.kept {
		for rid := range k {
			if !m.kept[id][rid] {
				return true
			}
		}
	}
	return false
}
