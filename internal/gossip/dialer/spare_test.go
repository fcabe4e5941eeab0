package dialer

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// fakeConn is a connection with only an address and an opening time: the
// choice of spare connections reads nothing else.
type fakeConn struct {
	network.Conn
	addr   ma.Multiaddr
	opened time.Time
}

func (c fakeConn) RemoteMultiaddr() ma.Multiaddr { return c.addr }
func (c fakeConn) Stat() network.ConnStats {
	return network.ConnStats{Stats: network.Stats{Opened: c.opened}}
}

func TestSpareConns(t *testing.T) {
	now := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	conn := func(addr string, age time.Duration) network.Conn {
		return &fakeConn{addr: ma.StringCast(addr), opened: now.Add(-age)}
	}
	relayed := conn("/ip4/11.0.0.10/udp/7101/quic-v1/p2p/12D3KooWChzULMWfdJHopYB2EwaVnHndBtJFhydgEVNABXbvn2Wh/p2p-circuit", time.Hour)
	tcpOld := conn("/ip4/10.0.0.2/tcp/7101", time.Hour)
	tcpNew := conn("/ip4/10.0.0.2/tcp/7101", time.Minute)
	quicNew := conn("/ip4/10.0.0.2/udp/7101/quic-v1", time.Minute)
	quicOld := conn("/ip4/10.0.0.2/udp/7101/quic-v1", 2*time.Minute)
	quicFresh := conn("/ip4/10.0.0.2/udp/7101/quic-v1", time.Second)

	for _, tc := range []struct {
		name  string
		conns []network.Conn
		close []network.Conn
	}{
		{"one connection", []network.Conn{tcpOld}, nil},
		{"QUIC over TCP, whatever their age", []network.Conn{tcpOld, quicNew}, []network.Conn{tcpOld}},
		{"direct over relayed", []network.Conn{relayed, tcpNew}, []network.Conn{relayed}},
		{"the oldest of two alike", []network.Conn{quicNew, quicOld}, []network.Conn{quicNew}},
		{"all spares at once", []network.Conn{relayed, tcpOld, quicNew, tcpNew}, []network.Conn{tcpOld, tcpNew, relayed}},
		{"a new connection is left to settle", []network.Conn{quicOld, quicFresh, tcpOld}, []network.Conn{tcpOld}},
		{"a new best one is kept, the old ones closed", []network.Conn{tcpOld, quicFresh}, []network.Conn{tcpOld}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := spareConns(tc.conns, now)
			if !slices.Equal(got, tc.close) {
				t.Fatalf("closes %v, want %v", addrs(got), addrs(tc.close))
			}
		})
	}
}

func addrs(cs []network.Conn) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.RemoteMultiaddr().String())
	}
	return out
}
