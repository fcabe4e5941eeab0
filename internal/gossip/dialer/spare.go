package dialer

import (
	"bytes"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
)

const (
	// spareEvery paces the look for spare connections.
	spareEvery = 10 * time.Second
	// connSettle is how old a connection must be before it may be closed
	// as spare: a hello or a first pull may still be running on a new one.
	connSettle = 10 * time.Second
)

// CloseSpare keeps one connection per peer. Two nodes that dial each other
// at once, or whose QUIC dial was slow enough for the TCP dial to start
// too, end up with two or three connections, and each costs keep-alives
// and wake-ups for as long as it lives (in a 30-process cluster, 6 to 36
// TCP connections per node beside QUIC). Of a peer's connections the one
// kept is direct over relayed, QUIC over TCP, then the oldest. Only the
// end with the lower peer ID closes: both ends choosing at once could
// close different ones and leave none. Pubsub reopens its stream on the
// connection kept. It looks at most every 10 s, however often it is
// called.
func (d *Dialer) CloseSpare(now time.Time) {
	if now.Sub(d.lastSpare) < spareEvery {
		return
	}
	d.lastSpare = now
	net := d.cfg.Host.Network()
	self := []byte(d.cfg.Host.ID())
	for _, p := range net.Peers() {
		if bytes.Compare(self, []byte(p)) >= 0 {
			continue
		}
		conns := net.ConnsToPeer(p)
		if len(conns) < 2 {
			continue
		}
		for _, c := range spareConns(conns, now) {
			d.cfg.Log.Debug("closing a spare connection", "peer", p, "addr", c.RemoteMultiaddr())
			_ = c.Close()
		}
	}
}

// spareConns returns the connections to close of one peer's: all but the
// best, leaving alone those younger than connSettle.
func spareConns(conns []network.Conn, now time.Time) []network.Conn {
	sorted := slices.Clone(conns)
	slices.SortStableFunc(sorted, func(a, b network.Conn) int {
		if ra, rb := connRank(a), connRank(b); ra != rb {
			return ra - rb
		}
		return a.Stat().Opened.Compare(b.Stat().Opened)
	})
	var out []network.Conn
	for _, c := range sorted[1:] {
		if now.Sub(c.Stat().Opened) >= connSettle {
			out = append(out, c)
		}
	}
	return out
}

// connRank orders connections by preference, lowest first.
func connRank(c network.Conn) int {
	rank := 0
	if _, relayed := p2p.IsRelayed(c.RemoteMultiaddr()); relayed {
		rank += 2
	}
	if !p2p.IsQUIC(c.RemoteMultiaddr()) {
		rank++
	}
	return rank
}
