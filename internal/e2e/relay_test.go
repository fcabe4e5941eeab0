package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/credmesh/credmesh/internal/identity"
)

// A member's relay serves members only. Node R runs with --reachability
// public (so it relays); two members with real keys, admitted by R, and a
// stranger, all separate libp2p hosts: the members reserve a slot and open
// a circuit to each other; the stranger's reservation and its circuit to a
// member are refused by R's ACL.
func TestRelayIsForMembersOnly(t *testing.T) {
	root := t.TempDir()
	r := startMeshWith(t, daemonOpts{args: []string{"--reachability", "public"}}, "relay", root+"/r")
	r.waitReady()
	if s := r.status(); s.Gossip.Reachability != "public" {
		t.Fatalf("reachability %q, want public", s.Gossip.Reachability)
	}
	tk, err := identity.ParseTicket(r.ticket())
	if err != nil {
		t.Fatal(err)
	}
	relay, err := tk.AddrInfo()
	if err != nil {
		t.Fatal(err)
	}
	m1, id1 := relayClient(t)
	m2, id2 := relayClient(t)
	s, _ := relayClient(t)
	for _, m := range []struct {
		h  host.Host
		id *identity.Identity
	}{{m1, id1}, {m2, id2}} {
		mustCLI(t, r.dataDir, "peers", "add", identity.NewTicket(m.id, m.h.Addrs()).String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Members reserve.
	for _, h := range []host.Host{m1, m2} {
		if _, err := client.Reserve(ctx, h, relay); err != nil {
			t.Fatalf("a member's reservation was refused: %v", err)
		}
	}
	// The stranger does not.
	_, err = client.Reserve(ctx, s, relay)
	var re client.ReservationError
	if !errors.As(err, &re) || re.Status != pbv2.Status_PERMISSION_DENIED {
		t.Fatalf("a stranger's reservation: %v, want PERMISSION_DENIED", err)
	}
	// A member opens a circuit to a member; the stranger cannot.
	circuit := func(to peer.ID) peer.AddrInfo {
		var addrs []ma.Multiaddr
		for _, a := range relay.Addrs {
			addrs = append(addrs, a.Encapsulate(ma.StringCast("/p2p/"+relay.ID.String()+"/p2p-circuit")))
		}
		return peer.AddrInfo{ID: to, Addrs: addrs}
	}
	if err := m2.Connect(ctx, circuit(m1.ID())); err != nil {
		t.Fatalf("member to member through the relay: %v", err)
	}
	if c := m2.Network().ConnsToPeer(m1.ID()); len(c) == 0 || !strings.Contains(c[0].RemoteMultiaddr().String(), "p2p-circuit") {
		t.Fatalf("member to member: no relayed connection (%v)", c)
	}
	err = s.Connect(ctx, circuit(m1.ID()))
	if err == nil || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Fatalf("a stranger's circuit to a member: %v, want PERMISSION_DENIED", err)
	}
}

// relayClient is a libp2p host with its own credmesh identity that can
// use relays (and nothing else).
func relayClient(t *testing.T) (host.Host, *identity.Identity) {
	t.Helper()
	id, _, err := identity.LoadOrCreate(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(id.LibP2PKey()), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ForceReachabilityPrivate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, id
}
