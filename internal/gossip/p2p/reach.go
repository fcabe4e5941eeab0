package p2p

import (
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Reachability says whether nodes anywhere can dial this node.
type Reachability string

const (
	// ReachAuto decides at start: public when the node listens on a public
	// address of one of its interfaces or announces a public address.
	ReachAuto Reachability = "auto"
	// ReachPublic: dialable from anywhere; serves as a relay for members.
	ReachPublic Reachability = "public"
	// ReachPrivate: behind a NAT or firewall; reserves relay slots on
	// public members and advertises the relayed addresses.
	ReachPrivate Reachability = "private"
)

// ParseReachability checks a --reachability value.
func ParseReachability(s string) (Reachability, error) {
	switch r := Reachability(s); r {
	case "":
		return ReachAuto, nil
	case ReachAuto, ReachPublic, ReachPrivate:
		return r, nil
	}
	return "", fmt.Errorf("reachability %q: use auto, public or private", s)
}

// ParseAnnounce checks --announce addresses: each an IP or DNS address
// with a transport, such as /ip4/198.51.100.7/tcp/7101 for a forwarded
// port.
func ParseAnnounce(ss []string) ([]ma.Multiaddr, error) {
	var out []ma.Multiaddr
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("announce address %q is not a multiaddr (like /ip4/198.51.100.7/tcp/7101): %v", s, err)
		}
		if isRelayed(a) {
			return nil, fmt.Errorf("announce address %q: announce a direct address; relayed ones come by themselves", s)
		}
		out = append(out, a)
	}
	return out, nil
}

// Decide turns ReachAuto into public or private from the addresses the
// node will listen on (unspecified ones resolved against ifaces, the
// machine's interface addresses) and the ones it announces. A node that is
// public only behind a 1:1 NAT (common in clouds) is found private here;
// its operator says --reachability public or announces its address.
func Decide(r Reachability, listen, announce, ifaces []ma.Multiaddr) Reachability {
	if r != ReachAuto {
		return r
	}
	if slices.ContainsFunc(announce, manet.IsPublicAddr) {
		return ReachPublic
	}
	resolved, err := manet.ResolveUnspecifiedAddresses(listen, ifaces)
	if err == nil && slices.ContainsFunc(resolved, manet.IsPublicAddr) {
		return ReachPublic
	}
	return ReachPrivate
}

// advertised is the address policy, applied to every address set the
// host gives out (identify, the node record): announced addresses join
// the host's own; when the node has an address that a peer anywhere can
// use (public, announced or relayed), its private and loopback ones are
// left out, so peers outside its LAN never dial them (LAN peers still find
// them through mDNS); a node with nothing but private addresses (a LAN or
// loopback fleet) advertises them all.
func advertised(announce []ma.Multiaddr) func([]ma.Multiaddr) []ma.Multiaddr {
	return func(addrs []ma.Multiaddr) []ma.Multiaddr {
		out := append(slices.Clone(addrs), announce...)
		if slices.ContainsFunc(out, ReachableAnywhere) {
			out = slices.DeleteFunc(out, func(a ma.Multiaddr) bool { return !ReachableAnywhere(a) })
		}
		return ma.Unique(out)
	}
}

// ReachableAnywhere reports whether a peer outside a node's network
// could use a, one of its addresses: a public address, or a relayed one.
func ReachableAnywhere(a ma.Multiaddr) bool { return isRelayed(a) || manet.IsPublicAddr(a) }

// isRelayed reports whether a goes through a circuit relay.
func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// IsRelayed reports whether a connection address goes through a relay,
// and which: the peer before /p2p-circuit.
func IsRelayed(a ma.Multiaddr) (relay peer.ID, ok bool) {
	if !isRelayed(a) {
		return "", false
	}
	var last peer.ID
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_P2P:
			if id, err := peer.Decode(c.Value()); err == nil {
				last = id
			}
		case ma.P_CIRCUIT:
			return last, true
		}
	}
	return last, true
}

// IsQUIC reports whether a is a QUIC address.
func IsQUIC(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_QUIC_V1)
	return err == nil
}

// IsPublic reports whether a is a direct address dialable from anywhere.
func IsPublic(a ma.Multiaddr) bool { return !isRelayed(a) && manet.IsPublicAddr(a) }

// The relay a public member serves, for members only. Circuits carry
// gossip and anti-entropy for as long as they live, so they have no time
// or data limit (a limited circuit would be refused by both); what bounds
// a relay's cost is who may use it and how many.
const (
	// RelayMaxReservations is how many members may hold a slot at once.
	RelayMaxReservations = 256
	// RelayMaxCircuits is how many relayed connections one member may have
	// open through the relay at once.
	RelayMaxCircuits = 16
	// RelayBufferSize is the copy buffer of each direction of a circuit.
	RelayBufferSize = 4096
	// RelayReservationTTL is how long a slot lasts before it is refreshed.
	RelayReservationTTL = time.Hour
)

// relayResources are the relay's limits. Per-IP and per-ASN caps are the
// total: every user is a member, and a whole office shares one address.
func relayResources() relayv2.Resources {
	r := relayv2.DefaultResources()
	r.Limit = nil
	r.ReservationTTL = RelayReservationTTL
	r.MaxReservations = RelayMaxReservations
	r.MaxCircuits = RelayMaxCircuits
	r.BufferSize = RelayBufferSize
	r.MaxReservationsPerIP = RelayMaxReservations
	r.MaxReservationsPerASN = RelayMaxReservations
	return r
}

// memberACL lets members, and only members, reserve a slot or open a
// circuit, and only to another member.
type memberACL struct{ isMember func(peer.ID) bool }

func (a memberACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool { return a.isMember(p) }

func (a memberACL) AllowConnect(src peer.ID, _ ma.Multiaddr, dst peer.ID) bool {
	return a.isMember(src) && a.isMember(dst)
}
