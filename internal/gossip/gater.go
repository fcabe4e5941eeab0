package gossip

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater refuses dials to revoked nodes. A revoked node that dials in is
// let through only to be told it is revoked (see revokedProtocol), then
// hung up on. It reads the membership snapshot, which may change at any
// time.
type gater struct {
	isRevoked func(peer.ID) bool
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return !g.isRevoked(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.isRevoked(p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return dir == network.DirInbound || !g.isRevoked(p)
}
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
