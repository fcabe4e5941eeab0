package p2p

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater refuses dials to revoked nodes. A revoked node that dials in is
// let through only to be told it is revoked (gossip's revoked protocol), then
// hung up on. It reads the membership snapshot, which may change at any
// time.
type Gater struct {
	// IsRevoked reports whether a peer is a revoked node.
	IsRevoked func(peer.ID) bool
}

func (g *Gater) InterceptPeerDial(p peer.ID) bool                 { return !g.IsRevoked(p) }
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.IsRevoked(p) }
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *Gater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return dir == network.DirInbound || !g.IsRevoked(p)
}
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
