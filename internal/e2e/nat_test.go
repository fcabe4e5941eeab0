package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/testenv"
)

// TestNATTraversal runs three real daemons in a natLab: P on the public
// segment, H1 and H2 each behind its own NAT router, unable to dial each
// other. They join through P's ticket; P relays between them for members
// only; where both NATs keep ports (cone), DCUtR punches a direct path
// that outlives P; where one NAT is symmetric, the relay carries them,
// both say the other is unreachable while P is down, and they catch up
// when P returns.
func TestNATTraversal(t *testing.T) {
	testenv.Long(t, "NAT traversal: three daemons behind NAT routers in network namespaces, about a minute per NAT type")
	needSystemdCreds(t)
	for _, tc := range []struct {
		name  string
		opts  natOpts
		punch bool
	}{
		{"cone-cone", natOpts{R1: natCone, R2: natCone}, true},
		{"symmetric-cone", natOpts{R1: natSymmetric, R2: natCone}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { natTraversal(t, tc.opts, tc.punch) })
	}
}

func natTraversal(t testing.TB, opts natOpts, punch bool) {
	lab, root := newNATLab(t, opts), t.TempDir()
	p, h1, h2 := natMesh(t, lab, root, fastNAT)
	id1, id2, idP := h1.status().NodeID, h2.status().NodeID, p.status().NodeID
	if s := p.status(); s.Gossip.Reachability != "public" {
		t.Fatalf("P on a public address says its reachability is %q", s.Gossip.Reachability)
	}
	if s := h1.status(); s.Gossip.Reachability != "private" {
		t.Fatalf("H1 behind a NAT says its reachability is %q", s.Gossip.Reachability)
	}

	// H1 reaches H2 through P's relay, then (cone) by a hole punch.
	want := api.ReachRelayed
	if punch {
		want = api.ReachHolePunched
	}
	joined := time.Now()
	waitReach(t, h1, id2, 90*time.Second, want)
	t.Logf("H1 reaches H2 %s %v after both were admitted", want, time.Since(joined).Round(time.Millisecond))
	r := waitReach(t, h2, id1, 30*time.Second, want, api.ReachDirect)
	if !punch && r.Via != idP {
		t.Fatalf("H2 reaches H1 %s via %q, want via P %s", r.How, r.Via, idP)
	}
	t.Logf("H2 reaches H1: %+v", r)
	out := mustCLI(t, h1.dataDir, "peers", "show", id2)
	t.Logf("peers show on H1:\n%s", out)
	// H2 advertises where it can be reached from anywhere, not its LAN.
	var known []string
	eventually(t, 30*time.Second, "H1 knows only H2's addresses usable from anywhere", func() bool {
		p2, _ := h1.peer(id2)
		known = p2.Addrs
		return len(known) > 0 && !slices.ContainsFunc(known, func(a string) bool {
			return strings.Contains(a, "/10.2.0.") || strings.Contains(a, "/127.0.0.1/")
		})
	}, func() string { return fmt.Sprint(known) })
	if !strings.Contains(out, want) {
		t.Fatalf("peers show on H1 does not say %s:\n%s", want, out)
	}
	setNAT(t, h1, "first", []byte("through the mesh"))
	waitCred(t, h2, "first", []byte("through the mesh"))

	// P goes away.
	p.stop(syscall.SIGTERM)
	if punch {
		// The punched path carries a new secret without P.
		setNAT(t, h1, "second", []byte("direct, without P"))
		waitCred(t, h2, "second", []byte("direct, without P"))
		if r := reachOf(t, h1, id2); r.How != api.ReachHolePunched {
			t.Fatalf("with P stopped H1 reaches H2 %s, want hole-punched", r.How)
		}
		return
	}
	// No direct path: both say so, with a reason.
	waitReach(t, h1, id2, 60*time.Second, api.ReachUnreachable)
	waitReach(t, h2, id1, 60*time.Second, api.ReachUnreachable)
	// Why: once H1 has redialled, the failure at H2's relayed addresses.
	var r1 api.Reach
	eventually(t, 60*time.Second, "H1 says why H2 is unreachable", func() bool {
		r1 = reachOf(t, h1, id2)
		return r1.How == api.ReachUnreachable && strings.Contains(r1.Why, "p2p-circuit")
	}, func() string { return fmt.Sprintf("last: %+v", r1) })
	t.Logf("with P stopped, H1 on H2: %+v", r1)
	setNAT(t, h1, "second", []byte("written while apart"))
	// P returns on its address and port; both redial it, reserve again,
	// reach each other through it and catch up.
	p = startNAT(t, lab, natP, root, fastNAT)
	p.waitReady()
	if _, err := credValue(h2, "second"); err == nil {
		t.Fatal("H2 has the secret written while it was unreachable before P returned")
	}
	back := time.Now()
	waitReach(t, h1, id2, 3*time.Minute, api.ReachRelayed)
	waitCredWithin(t, h2, "second", []byte("written while apart"), 2*time.Minute)
	t.Logf("H2 caught up %v after P returned", time.Since(back).Round(time.Millisecond))
}

// fastNAT are the timers of the NAT tests: 1 s heartbeats, anti-entropy
// every 3 s.
var fastNAT = []string{"--heartbeat", "1s", "--sync-interval", "3s"}

// natMesh starts P, then H1 and H2 with P's ticket, and has P admit
// both, H1 as an admin so that it may write H2's secrets. extra are more
// run flags for all three.
func natMesh(t testing.TB, lab *natLab, root string, extra []string) (p, h1, h2 *meshNode) {
	t.Helper()
	p = startNAT(t, lab, natP, root, extra)
	p.waitReady()
	pt := p.ticket()
	h1 = startNAT(t, lab, natH1, root, extra, pt)
	h2 = startNAT(t, lab, natH2, root, extra, pt)
	h1.waitReady()
	h2.waitReady()
	mustCLI(t, p.dataDir, "peers", "add", h1.ticket(), "--role", "admin")
	mustCLI(t, p.dataDir, "peers", "add", h2.ticket())
	return p, h1, h2
}

// startNAT starts a daemon on node n of the lab, listening on all of its
// namespace's addresses on port 7101, with extra flags and the given
// tickets.
func startNAT(t testing.TB, lab *natLab, n natNode, root string, extra []string, tickets ...string) *meshNode {
	t.Helper()
	name := n.String()
	dir := filepath.Join(root, name)
	tf := filepath.Join(root, name+".ticket")
	args := []string{"--listen", "/ip4/0.0.0.0/tcp/7101", "--listen", "/ip4/0.0.0.0/udp/7101/quic-v1",
		"--no-mdns", "--hostname", name, "--ticket-file", tf}
	args = append(append(args, extra...), tickets...)
	d := startDaemonWith(t, daemonOpts{bin: bin, wrap: lab.wrap(n)}, dir, args...)
	return &meshNode{daemon: d, name: name, ticketFile: tf}
}

// setNAT sets secret name on n for h2.
func setNAT(t testing.TB, n *meshNode, name string, value []byte) {
	t.Helper()
	if r := cliIn(t, n.dataDir, value, "secret", "set", name, "--target", "h2"); r.code != 0 {
		t.Fatalf("secret set %s: exit %d: %s", name, r.code, r.stderr)
	}
}

// reachOf is how n reaches the member id, from `peers show -o json`.
func reachOf(t testing.TB, n *meshNode, id string) api.Reach {
	t.Helper()
	p, ok := n.peer(id)
	if !ok || p.Reach == nil {
		return api.Reach{}
	}
	return *p.Reach
}

// waitReach waits until n reaches id in one of the ways given.
func waitReach(t testing.TB, n *meshNode, id string, within time.Duration, hows ...string) api.Reach {
	t.Helper()
	var r api.Reach
	eventually(t, within, fmt.Sprintf("%s reaches %s %s", n.name, id, strings.Join(hows, " or ")), func() bool {
		r = reachOf(t, n, id)
		for _, h := range hows {
			if r.How == h {
				return true
			}
		}
		return false
	}, func() string {
		logs := n.logs.String()
		return fmt.Sprintf("last: %+v\n...%s", r, logs[max(0, len(logs)-8000):])
	})
	return r
}

// waitCredWithin is waitCred with a deadline of its own.
func waitCredWithin(t testing.TB, n *meshNode, name string, want []byte, within time.Duration) {
	t.Helper()
	eventually(t, within, n.name+"'s credential "+name+" holds the value", func() bool {
		got, err := credValue(n, name)
		return err == nil && bytes.Equal(got, want)
	}, nil)
}
