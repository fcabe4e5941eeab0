package record

import "fmt"

// Role is what a member may do. An admin admits, approves, invites,
// revokes, promotes and demotes, and writes secrets for any target; a
// plain node writes only secrets whose target is itself.
type Role uint8

const (
	// RoleNode is a plain member.
	RoleNode Role = 1
	// RoleAdmin is a member that manages the mesh.
	RoleAdmin Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleNode:
		return "node"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole parses "admin" or "node".
func ParseRole(s string) (Role, error) {
	switch s {
	case "node":
		return RoleNode, nil
	case "admin":
		return RoleAdmin, nil
	}
	return 0, fmt.Errorf("role %q: use admin or node", s)
}

func (r Role) valid() bool { return r == RoleNode || r == RoleAdmin }
