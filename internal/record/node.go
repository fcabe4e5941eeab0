package record

import (
	"strings"
	"time"
)

// Limits of a node record.
const (
	MaxHostname   = 253
	MaxAddrs      = 32
	maxAddr       = 256
	maxRecipient  = 128
	maxAgent      = 64
	maxSourceName = 16
)

// Node is the body of a node record: what a node says about itself.
// Latest by sequence; only the node itself signs it.
type Node struct {
	Hostname     string
	AgeRecipient string   // "age1..."
	Addrs        []string // multiaddrs it listens on
	AgentVersion string
	StartedAt    time.Time
}

// Encode returns the body bytes.
func (n Node) Encode() []byte {
	var w writer
	w.str(n.Hostname)
	w.str(n.AgeRecipient)
	w.uvarint(uint64(len(n.Addrs)))
	for _, a := range n.Addrs {
		w.str(a)
	}
	w.str(n.AgentVersion)
	w.uvarint(uint64(max(n.StartedAt.UnixMilli(), 0)))
	return w.b
}

// DecodeNode decodes and validates a node body.
func DecodeNode(b []byte) (Node, error) {
	r := reader{b: b}
	var n Node
	n.Hostname = r.str("hostname", MaxHostname)
	n.AgeRecipient = r.str("age recipient", maxRecipient)
	count := r.count("addrs", MaxAddrs)
	for range count {
		n.Addrs = append(n.Addrs, r.str("addr", maxAddr))
	}
	n.AgentVersion = r.str("agent version", maxAgent)
	n.StartedAt = r.millis("started")
	if err := r.done(); err != nil {
		return Node{}, reject(ReasonMalformed, "node record: %v", err)
	}
	if n.AgeRecipient != "" && !strings.HasPrefix(n.AgeRecipient, "age1") {
		return Node{}, reject(ReasonMalformed, "node record: age recipient does not start with age1")
	}
	return n, nil
}
