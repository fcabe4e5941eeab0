package p2p

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func addrs(ss ...string) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range ss {
		out = append(out, ma.StringCast(s))
	}
	return out
}

func strs(as []ma.Multiaddr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return out
}

const relayID = "12D3KooWBcEUrFjp2wbFbPbUpMCVW7mzuZzGkKN8GnjiSUeTj59n"

func TestDecide(t *testing.T) {
	lan := addrs("/ip4/127.0.0.1", "/ip4/10.1.0.2")
	wan := addrs("/ip4/127.0.0.1", "/ip4/11.0.0.10")
	for _, tc := range []struct {
		name     string
		r        Reachability
		listen   string
		announce []string
		ifaces   []ma.Multiaddr
		want     Reachability
	}{
		{"any address, LAN only", ReachAuto, "/ip4/0.0.0.0/tcp/7101", nil, lan, ReachPrivate},
		{"any address, a public interface", ReachAuto, "/ip4/0.0.0.0/tcp/7101", nil, wan, ReachPublic},
		{"loopback only on a public machine", ReachAuto, "/ip4/127.0.0.1/tcp/7101", nil, wan, ReachPrivate},
		{"a public forwarded port announced", ReachAuto, "/ip4/0.0.0.0/tcp/7101", []string{"/ip4/11.0.0.1/tcp/7101"}, lan, ReachPublic},
		{"a private address announced", ReachAuto, "/ip4/0.0.0.0/tcp/7101", []string{"/ip4/192.168.1.1/tcp/7101"}, lan, ReachPrivate},
		{"documentation ranges are not public", ReachAuto, "/ip4/0.0.0.0/tcp/7101", nil, addrs("/ip4/203.0.113.5"), ReachPrivate},
		{"declared public", ReachPublic, "/ip4/127.0.0.1/tcp/7101", nil, lan, ReachPublic},
		{"declared private", ReachPrivate, "/ip4/0.0.0.0/tcp/7101", nil, wan, ReachPrivate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.r, addrs(tc.listen), addrs(tc.announce...), tc.ifaces); got != tc.want {
				t.Fatalf("Decide = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAdvertised(t *testing.T) {
	relayed := "/ip4/11.0.0.10/udp/7101/quic-v1/p2p/" + relayID + "/p2p-circuit"
	for _, tc := range []struct {
		name     string
		host     []string
		announce []string
		want     []string
	}{
		{"a LAN or loopback fleet keeps everything", []string{"/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.1/tcp/1"}, nil,
			[]string{"/ip4/10.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/1"}},
		{"a public node drops its private ones", []string{"/ip4/127.0.0.1/tcp/1", "/ip4/11.0.0.10/tcp/1"}, nil,
			[]string{"/ip4/11.0.0.10/tcp/1"}},
		{"a relayed node drops its LAN ones", []string{"/ip4/10.1.0.2/tcp/1", relayed}, nil, []string{relayed}},
		{"an announced forward replaces the LAN ones", []string{"/ip4/10.1.0.2/tcp/7101"}, []string{"/ip4/11.0.0.1/tcp/7101"},
			[]string{"/ip4/11.0.0.1/tcp/7101"}},
		{"an announced private address is kept with the rest", []string{"/ip4/10.1.0.2/tcp/7101"}, []string{"/ip4/192.168.9.9/tcp/7101"},
			[]string{"/ip4/10.1.0.2/tcp/7101", "/ip4/192.168.9.9/tcp/7101"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strs(advertised(addrs(tc.announce...))(addrs(tc.host...)))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("advertised = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIsRelayed(t *testing.T) {
	via, ok := IsRelayed(ma.StringCast("/ip4/11.0.0.10/udp/7101/quic-v1/p2p/" + relayID + "/p2p-circuit"))
	if !ok || via.String() != relayID {
		t.Fatalf("IsRelayed = %s, %v", via, ok)
	}
	if _, ok := IsRelayed(ma.StringCast("/ip4/11.0.0.10/udp/7101/quic-v1/p2p/" + relayID)); ok {
		t.Fatal("a direct address counted as relayed")
	}
	if IsPublic(ma.StringCast("/ip4/11.0.0.10/udp/7101/quic-v1/p2p/"+relayID+"/p2p-circuit")) || !IsPublic(ma.StringCast("/ip4/11.0.0.10/tcp/1")) {
		t.Fatal("IsPublic is wrong about a relayed or a public address")
	}
}

func TestParseFlags(t *testing.T) {
	for _, s := range []string{"", "auto", "public", "private"} {
		if _, err := ParseReachability(s); err != nil {
			t.Errorf("ParseReachability(%q): %v", s, err)
		}
	}
	if _, err := ParseReachability("nat"); err == nil {
		t.Error("ParseReachability(nat) accepted")
	}
	if _, err := ParseAnnounce([]string{"/ip4/11.0.0.1/tcp/7101"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"11.0.0.1:7101", "/ip4/11.0.0.10/tcp/1/p2p/" + relayID + "/p2p-circuit"} {
		if _, err := ParseAnnounce([]string{bad}); err == nil {
			t.Errorf("ParseAnnounce(%q) accepted", bad)
		}
	}
}

func TestMemberACL(t *testing.T) {
	m1, _ := peer.Decode(relayID)
	m2, _ := peer.Decode("12D3KooWEkCQg9roixdDuZUtJedCz3ZLQt2Ha9sbyn3zeeQeG6pt")
	s, _ := peer.Decode("12D3KooWJuUdCVsJGxxrhVDgWNbcTr9RSzRReAagucm9QWjmbwBs")
	acl := memberACL{func(p peer.ID) bool { return p == m1 || p == m2 }}
	switch {
	case !acl.AllowReserve(m1, nil), acl.AllowReserve(s, nil):
		t.Error("reservations: members only")
	case !acl.AllowConnect(m1, nil, m2), acl.AllowConnect(s, nil, m2), acl.AllowConnect(m1, nil, s):
		t.Error("circuits: between members only")
	}
	if r := relayResources(); r.Limit != nil || r.MaxReservations != RelayMaxReservations || r.MaxCircuits != RelayMaxCircuits {
		t.Errorf("relay resources %+v", r)
	}
}
