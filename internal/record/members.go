package record

// Edge is one admit or revoke: Author vouches for (or revokes) Subject.
type Edge struct {
	Author, Subject NodeID
}

// Members is a node's view of who belongs to the mesh. Build it with
// ComputeMembers; it is immutable and safe to share.
type Members struct {
	self    NodeID
	members map[NodeID]bool
	revoked map[NodeID]bool
}

// ComputeMembers derives membership: this node, the nodes its operator
// trusts directly, and every node admitted by a member, transitively. A
// revoked node is never a member and its admits count for nothing, however
// the admits and revokes are ordered.
func ComputeMembers(self NodeID, operator []NodeID, admits, revokes []Edge) *Members {
	m := &Members{self: self, members: map[NodeID]bool{}, revoked: map[NodeID]bool{}}
	for _, r := range revokes {
		if r.Subject != self {
			m.revoked[r.Subject] = true
		}
	}
	by := map[NodeID][]NodeID{}
	for _, a := range admits {
		by[a.Author] = append(by[a.Author], a.Subject)
	}
	queue := append([]NodeID{self}, operator...)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if m.members[n] || m.revoked[n] {
			continue
		}
		m.members[n] = true
		queue = append(queue, by[n]...)
	}
	return m
}

// Self returns this node's ID.
func (m *Members) Self() NodeID { return m.self }

// IsMember reports whether id is a member.
func (m *Members) IsMember(id NodeID) bool { return m != nil && m.members[id] }

// IsRevoked reports whether id has been revoked by a member.
func (m *Members) IsRevoked(id NodeID) bool { return m != nil && m.revoked[id] }

// Len returns the number of members, this node included.
func (m *Members) Len() int { return len(m.members) }

// List returns the members in no particular order.
func (m *Members) List() []NodeID {
	out := make([]NodeID, 0, len(m.members))
	for id := range m.members {
		out = append(out, id)
	}
	return out
}
