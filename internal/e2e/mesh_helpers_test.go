package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// meshNode is a daemon in a loopback mesh, with a name used as hostname.
type meshNode struct {
	*daemon
	name       string
	ticketFile string
}

// ports keeps each data dir on one port across restarts, as a real node
// on its fixed port would be.
var (
	portsMu sync.Mutex
	ports   = map[string]int{}
)

func portFor(t testing.TB, dir string) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	if p, ok := ports[dir]; ok {
		return p
	}
	for range 100 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err == nil {
			u.Close()
			ports[dir] = p
			return p
		}
	}
	t.Fatal("no free port with both TCP and UDP")
	return 0
}

// startMesh starts a node that listens on loopback (one port per data
// dir, kept across restarts), with fast heartbeats and anti-entropy, no
// mDNS, and the given tickets.
func startMesh(t testing.TB, name, dir string, tickets ...string) *meshNode {
	t.Helper()
	n := startMeshWith(t, daemonOpts{}, name, dir, tickets...)
	n.waitReady()
	return n
}

// startMeshWith starts a mesh node as startMesh does, with opts, and does
// not wait for it to be ready.
func startMeshWith(t testing.TB, o daemonOpts, name, dir string, tickets ...string) *meshNode {
	t.Helper()
	tf := filepath.Join(filepath.Dir(dir), name+".ticket")
	_ = os.Remove(tf)
	port := portFor(t, dir)
	args := []string{"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port),
		"--no-mdns", "--hostname", name, "--heartbeat", "1s", "--sync-interval", "3s", "--ticket-file", tf,
		"--creds-dir", filepath.Join(dir, "creds")}
	d := startDaemonWith(t, o, dir, append(args, tickets...)...)
	return &meshNode{daemon: d, name: name, ticketFile: tf}
}

// ticket waits for the node's ticket file.
func (n *meshNode) ticket() string {
	n.t.Helper()
	return waitTicket(n.t, n.name, n.ticketFile)
}

// waitTicket waits for node name's ticket file and returns the ticket.
func waitTicket(t testing.TB, name, file string) string {
	t.Helper()
	var tk string
	eventually(t, 30*time.Second, name+"'s ticket file", func() bool {
		b, err := os.ReadFile(file)
		tk = strings.TrimSpace(string(b))
		return err == nil && strings.HasPrefix(tk, "credmesh1")
	}, nil)
	return tk
}

func (n *meshNode) status() api.Status {
	n.t.Helper()
	return statusOf(n.t, n.dataDir)
}

// statusOf is `status -o json` of the daemon with data dir dir.
func statusOf(t testing.TB, dir string) api.Status {
	t.Helper()
	var s api.Status
	if err := json.Unmarshal([]byte(mustCLI(t, dir, "status", "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (n *meshNode) peers() []api.Peer {
	n.t.Helper()
	r := cli(n.t, n.dataDir, "peers", "list", "-o", "json")
	if r.code != 0 {
		return nil // the daemon may be restarting; callers poll
	}
	var ps api.Peers
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
		n.t.Fatal(err)
	}
	return ps.Peers
}

func (n *meshNode) peer(id string) (api.PeerDetail, bool) {
	n.t.Helper()
	r := cli(n.t, n.dataDir, "peers", "show", id, "-o", "json")
	if r.code != 0 {
		return api.PeerDetail{}, false
	}
	var p api.PeerDetail
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		n.t.Fatal(err)
	}
	return p, true
}

// find returns the peer with id in ps.
func find(ps []api.Peer, id string) (api.Peer, bool) {
	for _, p := range ps {
		if p.NodeID == id {
			return p, true
		}
	}
	return api.Peer{}, false
}

func describe(ps []api.Peer) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.NodeID[:16] + " " + p.Hostname + " " + p.State + " online=" + yes(p.Online) + "\n")
	}
	return b.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
