package e2e

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/testenv"
)

// Three processes: B and C start with A's ticket, A's operator adds B
// and C (B and C are never told about each other); every node then lists
// the other two as online members with hostname, age recipient and
// sysinfo. Then C stops gracefully, B is killed, and B restarts from
// remembered peers alone.
func TestMeshJoinLeaveRejoin(t *testing.T) {
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	b := startMesh(t, "bravo", root+"/b", a.ticket())
	c := startMesh(t, "charlie", root+"/c", a.ticket())
	mustCLI(t, a.dataDir, "peers", "add", b.ticket())
	mustCLI(t, a.dataDir, "peers", "add", c.ticket())
	if r := cli(t, a.dataDir, "peers", "add", a.ticket()); r.code == 0 || !strings.Contains(r.stderr, "own ticket") {
		t.Fatalf("peers add of its own ticket: exit %d, %q", r.code, r.stderr)
	}
	if r := cli(t, a.dataDir, "peers", "add", "credmesh1garbage"); r.code == 0 || !strings.Contains(r.stderr, "bad ticket") {
		t.Fatalf("peers add of a bad ticket: exit %d, %q", r.code, r.stderr)
	}
	nodes := []*meshNode{a, b, c}
	ids := map[*meshNode]string{}
	for _, n := range nodes {
		ids[n] = n.status().NodeID
	}
	for _, n := range nodes {
		for _, other := range nodes {
			if other == n {
				continue
			}
			var last string
			eventually(t, 30*time.Second, n.name+" sees "+other.name+" as an online member with sysinfo", func() bool {
				p, ok := n.peer(ids[other])
				last = describe(n.peers())
				return ok && p.State == "member" && p.Online && p.Hostname == other.name &&
					strings.HasPrefix(p.AgeRecipient, "age1") && p.Sysinfo != nil && len(p.Sysinfo.Interfaces) > 0
			}, func() string { return last })
		}
	}

	// C stops gracefully: the others hear it leave.
	c.shutdown(syscall.SIGTERM)
	for _, n := range []*meshNode{a, b} {
		eventually(t, 30*time.Second, n.name+" marks charlie offline", func() bool {
			p, ok := find(n.peers(), ids[c])
			return ok && !p.Online
		}, nil)
		if !strings.Contains(n.logs.String(), `msg="member left" component=gossip node=`+ids[c]) {
			t.Errorf("%s did not see charlie leave (it should not need missed heartbeats)", n.name)
		}
	}

	// B is killed: the others notice the missed heartbeats.
	if code := b.stop(syscall.SIGKILL); code == 0 {
		t.Fatal("kill -9 gave exit 0")
	}
	eventually(t, 30*time.Second, "alpha marks bravo offline", func() bool {
		p, ok := find(a.peers(), ids[b])
		return ok && !p.Online
	}, nil)
	if !strings.Contains(a.logs.String(), `msg="member offline" component=gossip node=`+ids[b]) {
		t.Error("alpha did not mark bravo offline by missed heartbeats")
	}

	// B restarts with no ticket and rejoins from remembered peers.
	b2 := startMesh(t, "bravo", b.dataDir)
	eventually(t, 30*time.Second, "bravo back online on both sides", func() bool {
		pa, ok1 := find(a.peers(), ids[b])
		pb, ok2 := find(b2.peers(), ids[a])
		return ok1 && ok2 && pa.Online && pb.Online
	}, func() string { return describe(a.peers()) + "\n" + describe(b2.peers()) })
}

// A node that was down while others changed their records gets every
// change when it comes back.
func TestMeshCatchUp(t *testing.T) {
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	b := startMesh(t, "bravo", root+"/b", a.ticket())
	mustCLI(t, a.dataDir, "peers", "add", b.ticket())
	idA, idB := a.status().NodeID, b.status().NodeID
	eventually(t, 30*time.Second, "bravo online at alpha", func() bool {
		p, ok := find(a.peers(), idB)
		return ok && p.Online
	}, nil)
	b.shutdown(syscall.SIGTERM)

	// While B is away: A admits two new nodes and restarts (a new node
	// record, with a new start time).
	var newIDs []string
	for _, name := range []string{"delta", "echo"} {
		dir := root + "/" + name
		out := mustCLI(t, dir, "init", "-o", "json")
		newIDs = append(newIDs, jsonField(t, out, "node_id"))
		mustCLI(t, a.dataDir, "peers", "add", jsonField(t, out, "ticket"))
	}
	a.shutdown(syscall.SIGTERM)
	a2 := startMesh(t, "alpha", a.dataDir)
	started := a2.status().StartedAt

	b2 := startMesh(t, "bravo", b.dataDir)
	eventually(t, 30*time.Second, "bravo has every change alpha made while it was away", func() bool {
		ps := b2.peers()
		for _, id := range newIDs {
			if p, ok := find(ps, id); !ok || p.State != "member" {
				return false
			}
		}
		p, ok := find(ps, idA)
		return ok && p.StartedAt != nil && p.StartedAt.Equal(started.Truncate(time.Millisecond))
	}, func() string { return describe(b2.peers()) })
}

// A stranger (its own identity, started with A's ticket like any node,
// but never added by anyone) stays pending and none of its records are
// accepted anywhere.
func TestMeshStrangerStaysPending(t *testing.T) {
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	b := startMesh(t, "bravo", root+"/b", a.ticket())
	mustCLI(t, a.dataDir, "peers", "add", b.ticket())
	s := startMesh(t, "stranger", root+"/s", a.ticket())
	idB, idS := b.status().NodeID, s.status().NodeID
	eventually(t, 30*time.Second, "alpha lists the stranger as pending with its hostname", func() bool {
		p, ok := find(a.peers(), idS)
		return ok && p.State == "pending" && p.Hostname == "stranger" && !p.Online
	}, func() string { return describe(a.peers()) })
	eventually(t, 30*time.Second, "bravo online at alpha", func() bool {
		p, ok := find(a.peers(), idB)
		return ok && p.Online
	}, nil)
	// Let heartbeats and sysinfo flow for a while, then check nothing of
	// the stranger was stored anywhere and it received nothing but
	// alpha's introduction.
	for range 3 {
		for _, n := range []*meshNode{a, b} {
			if p, ok := n.peer(idS); ok && p.State == "member" {
				t.Fatalf("%s made the stranger a member", n.name)
			}
			if n.status().Counts.Records["node"] != 2 {
				t.Fatalf("%s stores %d node records, want 2 (alpha, bravo)", n.name, n.status().Counts.Records["node"])
			}
		}
		waitHeartbeats(a)
	}
	got := s.status().Counts.Records
	if got["admit"] != 0 || got["sysinfo"] != 1 || got["node"] > 2 {
		t.Fatalf("the stranger holds %v; want only its own records and alpha's introduction", got)
	}
	if p, ok := find(s.peers(), idB); ok && p.Hostname != "" {
		t.Fatalf("the stranger learnt bravo's details: %+v", p)
	}

	// Approving it on alpha admits it everywhere; it then hears bravo.
	mustCLI(t, a.dataDir, "peers", "approve", "stranger")
	for _, n := range []*meshNode{a, b} {
		eventually(t, 30*time.Second, n.name+" has the approved node as an online member", func() bool {
			p, ok := find(n.peers(), idS)
			return ok && p.State == "member" && p.Online
		}, func() string { return describe(n.peers()) })
	}
	eventually(t, 30*time.Second, "the approved node knows bravo", func() bool {
		p, ok := find(s.peers(), idB)
		return ok && p.State == "member" && p.Hostname == "bravo"
	}, func() string { return describe(s.peers()) })

	// Ignoring another pending node stops it being listed, and it stays
	// out.
	x := startMesh(t, "xray", root+"/x", a.ticket())
	idX := x.status().NodeID
	eventually(t, 30*time.Second, "alpha lists xray as pending", func() bool {
		p, ok := find(a.peers(), idX)
		return ok && p.State == "pending"
	}, func() string { return describe(a.peers()) })
	mustCLI(t, a.dataDir, "peers", "ignore", idX)
	waitHeartbeats(a)
	if _, ok := find(a.peers(), idX); ok {
		t.Fatalf("alpha still lists the ignored node:\n%s", describe(a.peers()))
	}
	if auditCount(t, a, "peer.approved", "") != 1 || auditCount(t, a, "peer.ignored", "") != 1 {
		t.Fatal("approve and ignore are not audited")
	}
}

// waitHeartbeats lets a few heartbeat intervals (1s in these tests) pass,
// measured by the node's own uptime.
func waitHeartbeats(n *meshNode) {
	n.t.Helper()
	start := n.status().UptimeSeconds
	eventually(n.t, 30*time.Second, "three heartbeat intervals", func() bool {
		return n.status().UptimeSeconds-start >= 3
	}, nil)
}

// Nodes on one LAN find each other by mDNS and list each other as
// pending: discovery never grants trust.
func TestMDNSFindsPendingNodes(t *testing.T) {
	if !hasMulticastInterface() {
		testenv.Need(t, "no up, non-loopback interface with multicast and an address on this machine: mDNS cannot run")
	}
	root := t.TempDir()
	cluster := fmt.Sprintf("mdns-test-%d", time.Now().UnixNano())
	start := func(name string) *daemon {
		d := startDaemon(t, root+"/"+name, "--listen", "/ip4/0.0.0.0/tcp/0", "--hostname", name,
			"--cluster", cluster, "--heartbeat", "1s", "--creds-dir", root+"/"+name+"/creds")
		d.waitReady()
		return d
	}
	a, b := start("mdns-a"), start("mdns-b")
	na := &meshNode{daemon: a, name: "mdns-a"}
	nb := &meshNode{daemon: b, name: "mdns-b"}
	idB := nb.status().NodeID
	eventually(t, 30*time.Second, "mdns-a lists mdns-b as pending", func() bool {
		p, ok := find(na.peers(), idB)
		return ok && p.State == "pending" && p.Hostname == "mdns-b" && !p.Online
	}, func() string { return describe(na.peers()) })
	if n := na.status().Counts.Records["node"]; n != 1 {
		t.Fatalf("mdns-a stores %d node records, want only its own", n)
	}
}

func hasMulticastInterface() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 && i.Flags&net.FlagLoopback == 0 {
			if addrs, _ := i.Addrs(); len(addrs) > 0 {
				return true
			}
		}
	}
	return false
}
