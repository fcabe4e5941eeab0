package api

import (
	"errors"
	"time"
)

// Prefix is where every API route lives.
const Prefix = "/api/v1"

// MaxRequestBody caps request bodies (a 1 MiB secret plus JSON overhead).
const MaxRequestBody = 3 << 20

// Status is GET /api/v1/status.
type Status struct {
	NodeID        string    `json:"node_id"`
	Hostname      string    `json:"hostname"`
	AgeRecipient  string    `json:"age_recipient"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	DataDir       string    `json:"data_dir"`
	Web           string    `json:"web,omitempty"` // the web UI's URL, when it is on
	// Role is this node's role in its own view: admin or node.
	Role string `json:"role"`
	// Revoked says who revoked this node, when and why; nil while it is
	// not revoked.
	Revoked     *Revocation `json:"revoked,omitempty"`
	Counts      Counts      `json:"counts"`
	Credentials Credentials `json:"credentials"`
	Gossip      Gossip      `json:"gossip"`
}

// Revocation says who revoked a node, when and why.
type Revocation struct {
	By     []string  `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Gossip is this node's GossipSub traffic since start.
type Gossip struct {
	BytesIn          int64   `json:"bytes_in"`
	BytesOut         int64   `json:"bytes_out"`
	HeartbeatSeconds float64 `json:"heartbeat_seconds"` // the interval in use (it grows with the mesh)
	Connected        int     `json:"connected"`         // libp2p connections to other nodes
	// Reachability is public (dialable from anywhere; relays for members)
	// or private (reached through member relays).
	Reachability string `json:"reachability"`
	// Reached counts other members by how they are reached (direct,
	// hole-punched, relayed, unreachable).
	Reached map[string]int `json:"reached"`
}

// Counts summarises what the node holds.
type Counts struct {
	Events  int64          `json:"events"`
	Members int            `json:"members"` // other members (this node excluded)
	Online  int            `json:"online"`  // other members online
	Pending int            `json:"pending"`
	Secrets int            `json:"secrets"` // secret names with a copy that is not deleted
	Records map[string]int `json:"records"` // by kind
	Rejects map[string]int `json:"rejects"` // since start, by reason
	// Dropped counts gossip messages dropped before validation (from nodes
	// that are not members, graylisted or throttled peers), by reason.
	Dropped map[string]int `json:"dropped"`
}

// Peer is another node as this node knows it.
type Peer struct {
	NodeID       string     `json:"node_id"`
	Hostname     string     `json:"hostname"`
	State        string     `json:"state"`          // member, pending, revoked, ignored
	Role         string     `json:"role,omitempty"` // admin or node, for members
	Online       bool       `json:"online"`
	LastSeen     *time.Time `json:"last_seen,omitempty"`
	FirstSeen    *time.Time `json:"first_seen,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	AgeRecipient string     `json:"age_recipient,omitempty"`
	AgentVersion string     `json:"agent_version,omitempty"`
	Addrs        []string   `json:"addrs"`
	SeenAddrs    []string   `json:"seen_addrs,omitempty"`
	Trust        string     `json:"trust,omitempty"` // how this node's operator trusts it directly
	Self         bool       `json:"self,omitempty"`  // the node answering: online, never "last seen"
	// Reach says how the node answering reaches this member now (absent
	// for itself and for nodes that are not members).
	Reach *Reach `json:"reach,omitempty"`
}

// Reach says how one node reaches another.
type Reach struct {
	// How is direct, hole-punched, relayed or unreachable.
	How string `json:"how"`
	// Via is the relay's node ID when relayed.
	Via string `json:"via,omitempty"`
	// Addr is the remote address of the connection in use.
	Addr string `json:"addr,omitempty"`
	// Why says, when unreachable, what the last dial hit (when relayed,
	// why the hole punch failed).
	Why string `json:"why,omitempty"`
}

// How a member is reached.
const (
	ReachDirect      = "direct"
	ReachHolePunched = "hole-punched"
	ReachRelayed     = "relayed"
	ReachUnreachable = "unreachable"
)

// Peer states.
const (
	StateMember  = "member"
	StatePending = "pending"
	StateRevoked = "revoked"
	StateIgnored = "ignored"
)

// Peers is GET /api/v1/peers.
type Peers struct {
	Peers []Peer `json:"peers"`
}

// PeerDetail is GET /api/v1/peers/{node}.
type PeerDetail struct {
	Peer
	Sysinfo *Sysinfo `json:"sysinfo,omitempty"`
	// Score is the node's GossipSub peer score here (negative after
	// invalid messages), when connected.
	Score *float64 `json:"gossip_score,omitempty"`
}

// Sysinfo is a node's latest machine snapshot.
type Sysinfo struct {
	CollectedAt   time.Time   `json:"collected_at"`
	UptimeSeconds int64       `json:"uptime_seconds"`
	Load          [3]float64  `json:"load"`
	MemTotal      uint64      `json:"mem_total"`
	MemUsed       uint64      `json:"mem_used"`
	MemAvailable  uint64      `json:"mem_available"`
	Disks         []Disk      `json:"disks"`
	Interfaces    []Interface `json:"interfaces"`
}

// Disk is one mounted file system.
type Disk struct {
	Mountpoint  string  `json:"mountpoint"`
	FSType      string  `json:"fstype"`
	Total       uint64  `json:"total"`
	Used        uint64  `json:"used"`
	Free        uint64  `json:"free"`
	UsedPercent float64 `json:"used_percent"`
}

// Interface is one network interface.
type Interface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs"`
}

// AddPeer is the body of POST /api/v1/peers.
type AddPeer struct {
	Ticket string `json:"ticket"`
	Role   string `json:"role,omitempty"` // admin or node (default node)
}

// AddPeerResult answers POST /api/v1/peers.
type AddPeerResult struct {
	NodeID   string `json:"node_id"`
	Added    bool   `json:"added"`    // false: it was already trusted
	Admitted bool   `json:"admitted"` // an admit was published (this node is an admin)
	Role     string `json:"role"`
	Joined   bool   `json:"joined,omitempty"` // an invite: this node joins the ticket's cluster
}

// PeerAction is the body of POST /api/v1/peers/{node}/{action}: approve
// (with a role), ignore, revoke (with a reason), promote, demote.
type PeerAction struct {
	Role   string `json:"role,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PeerActionResult answers a peer action: the node it applied to.
type PeerActionResult struct {
	NodeID   string `json:"node_id"`
	Hostname string `json:"hostname,omitempty"`
	Action   string `json:"action"`
}

// Ticket is GET /api/v1/ticket.
type Ticket struct {
	NodeID string `json:"node_id"`
	Ticket string `json:"ticket"`
}

// Event is one audit log entry as the API returns it.
type Event struct {
	ID      int64          `json:"id"`
	Time    time.Time      `json:"time"`
	Type    string         `json:"type"`
	Node    string         `json:"node,omitempty"`
	Secret  string         `json:"secret,omitempty"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

// Events is GET /api/v1/audit.
type Events struct {
	Events []Event `json:"events"`
	// Next is the cursor for the following page (before=Next), 0 at the end.
	Next int64 `json:"next,omitempty"`
}

// Error is the body of every non-2xx API response.
type Error struct {
	Error string `json:"error"`
}

// Error classes. The node wraps its errors in these; the web package maps
// them to HTTP status codes in one place, and the client maps status codes
// back (StatusError.Code).
var (
	ErrInvalid   = errors.New("invalid request")
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("not allowed")
)

// SetSecret is the body of POST /api/v1/secrets: one new version of Name
// for each target (default: the daemon's own node), in one share group.
type SetSecret struct {
	Name    string   `json:"name"`
	Targets []string `json:"targets,omitempty"` // node IDs, unique prefixes or hostnames
	Value   []byte   `json:"value"`             // the plaintext (base64 in JSON)
	Restart []string `json:"restart,omitempty"` // units to try-restart on the target
	// AllowEmpty lets an empty Value through; without it an empty value is
	// refused (it is almost always a mistake: an empty pipe or file).
	AllowEmpty bool `json:"allow_empty,omitempty"`
}

// SecretWrite is one version written by a set, share or delete.
type SecretWrite struct {
	Name      string `json:"name"`
	Target    string `json:"target"`
	Hostname  string `json:"hostname,omitempty"`
	Version   uint64 `json:"version"`
	Record    string `json:"record"`
	Tombstone bool   `json:"tombstone,omitempty"`
}

// SecretWrites answers the writing calls.
type SecretWrites struct {
	Writes []SecretWrite `json:"writes"`
	// Skipped lists the targets a call left alone, each with the reason
	// (a revoked target of a set, a share target that already holds the
	// version).
	Skipped []SkippedTarget `json:"skipped,omitempty"`
}

// SkippedTarget is a target a write left alone, and why.
type SkippedTarget struct {
	Target   string `json:"target"`
	Hostname string `json:"hostname,omitempty"`
	Reason   string `json:"reason"`
}

// ShareSecret is the body of POST /api/v1/secrets/{name}/share.
type ShareSecret struct {
	To []string `json:"to"`
}

// SecretTarget is the current version of a secret for one target.
type SecretTarget struct {
	Target         string    `json:"target"`
	Hostname       string    `json:"hostname,omitempty"`
	Version        uint64    `json:"version"`
	Author         string    `json:"author"`
	AuthorHostname string    `json:"author_hostname,omitempty"`
	Creator        string    `json:"creator"`
	CreatorHost    string    `json:"creator_hostname,omitempty"`
	Updated        time.Time `json:"updated"`
	Record         string    `json:"record"`
	CipherHash     string    `json:"ciphertext_sha256,omitempty"`
	Size           int       `json:"ciphertext_bytes"`
	Tombstone      bool      `json:"deleted,omitempty"`
	Group          string    `json:"share_group"`
	Restart        []string  `json:"restart,omitempty"`
	Rollout        Rollout   `json:"rollout"`
	// NeedsRotation says why the value must be rotated: a node that could
	// read it, or that wrote it, was revoked after it was written.
	NeedsRotation string `json:"needs_rotation,omitempty"`
	// Diverged is set on the copies of a share group whose current
	// versions differ: they no longer hold the value of one write.
	Diverged bool `json:"diverged,omitempty"`
}

// Secret is one name with its targets.
type Secret struct {
	Name    string         `json:"name"`
	Targets []SecretTarget `json:"targets"`
	// Diverged says that the copies of one share group of this name hold
	// different versions (so, most likely, different values).
	Diverged bool `json:"diverged"`
}

// Secrets is GET /api/v1/secrets.
type Secrets struct {
	Secrets []Secret `json:"secrets"`
}

// SecretVersion is one version in a secret's history.
type SecretVersion struct {
	SecretTarget
	Current bool `json:"current"`
	Counts  bool `json:"counts"` // false: refused (neither its original author nor its target wrote it)
}

// SecretHistory is GET /api/v1/secrets/{name}.
type SecretHistory struct {
	Name     string          `json:"name"`
	Versions []SecretVersion `json:"versions"`
}

// Revealed is POST /api/v1/secrets/{name}/reveal: this node's own copy.
type Revealed struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Value   []byte `json:"value"`
}

// Sync is the body of POST /api/v1/sync.
type Sync struct {
	Node string `json:"node,omitempty"` // default: the daemon's own node
}

// SyncResult answers POST /api/v1/sync.
type SyncResult struct {
	Target string `json:"target"`
	Local  bool   `json:"local"` // the daemon's own node rewrites now
}

// Rollout is a target's latest receipt for a secret.
type Rollout struct {
	State   string    `json:"state"` // written, removed, failed, pending
	Version uint64    `json:"version,omitempty"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at,omitempty"`
}

// Credentials is the credential writer's health.
type Credentials struct {
	State   string `json:"state"` // ok, degraded
	Reason  string `json:"reason,omitempty"`
	Dir     string `json:"dir"`
	Written int    `json:"written"`
	Failing int    `json:"failing"`
	// Key is what encrypts credentials: `host` (in process, with the
	// host key), `systemd-creds` (a spawned systemd-creds with its own
	// key choice: TPM2 and host key where a TPM2 is present),
	// `host+tpm2` (systemd-creds --with-key=host+tpm2) or `plain`
	// (plaintext files, `credmesh demo` without root).
	Key string `json:"key"`
}

// Invite is POST /api/v1/invites: a one-time invite ticket.
type Invite struct {
	TTL  string `json:"ttl,omitempty"`  // a Go duration, default 24h
	Role string `json:"role,omitempty"` // the role it gives: admin or node (default node)
}

// InviteResult answers POST /api/v1/invites.
type InviteResult struct {
	Ticket  string    `json:"ticket"`
	Expires time.Time `json:"expires"`
	Role    string    `json:"role"`
}

// LoginURL answers POST /api/v1/ui/login: a one-time URL that signs a
// browser in to the web UI.
type LoginURL struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}
