package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credmesh/credmesh/internal/testenv"
)

// natLab is a small internet with two NATed homes, made of network
// namespaces:
//
//	        hub namespace: bridge br0, the "public" segment 11.0.0.0/24
//	      /                    |                     \
//	P 11.0.0.10       R1 wan 11.0.0.1          R2 wan 11.0.0.2
//	                  R1 lan 10.1.0.1          R2 lan 10.2.0.1
//	                       |                        |
//	                  H1 e0 10.1.0.2           H2 e0 10.2.0.2
//
// P, R1 and R2 each have an interface "wan" whose peer is a port of br0
// in the hub namespace; each home is one veth pair, "lan" in Rn and "e0"
// in Hn, and Hn's default route is via Rn. P and the routers have no
// default route: the only destinations are the lab's own addresses.
//
// 11.0.0.0/24 belongs to someone on the real internet. It is used because
// go-multiaddr's manet.IsPublicAddr treats it as public, and go-libp2p
// turns hole punching and relay addresses off for non-public ranges
// (documentation, benchmarking, RFC 1918 and shared ranges alike). It is
// safe because no lab namespace has any link to the machine's own network
// namespace or its interfaces: the hub's bridge has only the lab's veths
// on it and nothing is routed out, so no packet for 11.0.0.0/24 ever
// leaves the lab. TestNATLab checks that the machine's own namespace sees
// none of it.
//
// Each router forwards, masquerades what leaves its WAN interface (cone
// or symmetric, see natType), forwards WAN to LAN only for established or
// related traffic, and drops unsolicited packets arriving on its WAN
// interface for itself.
type natLab struct {
	t      testing.TB
	prefix string
	ns     [natNodes]string // namespace of each node
	hub    string
	port   [natNodes]string // hub-side veth of P, R1 and R2
}

// natNode names a member of a natLab.
type natNode int

const (
	natP  natNode = iota // the public member
	natH1                // the host behind R1
	natH2                // the host behind R2
	natR1                // the router of home 1
	natR2                // the router of home 2
	natNodes
)

var natNames = [natNodes]string{natP: "p", natH1: "h1", natH2: "h2", natR1: "r1", natR2: "r2"}

func (n natNode) String() string { return natNames[n] }

// natAddrs is each node's own address: the WAN address for a router.
var natAddrs = [natNodes]string{natP: "11.0.0.10", natH1: "10.1.0.2", natH2: "10.2.0.2", natR1: "11.0.0.1", natR2: "11.0.0.2"}

// natGateways is each router's address on its home network.
var natGateways = [natNodes]string{natR1: "10.1.0.1", natR2: "10.2.0.1"}

// natType is how a router translates source addresses.
type natType int

const (
	// natCone is nft's plain masquerade: it keeps the source port when
	// it can (endpoint-independent mapping) and lets in only replies from
	// the address and port a packet went to: a port-restricted cone NAT.
	natCone natType = iota
	// natSymmetric is masquerade random: a new random port for every
	// destination (endpoint-dependent mapping), so hole punching fails.
	natSymmetric
)

func (n natType) String() string { return [...]string{"cone", "symmetric"}[n] }

// natOpts configures a natLab; the zero value is two cone routers.
type natOpts struct{ R1, R2 natType }

// routerRules is the nftables ruleset of a router; %s is "" or "random".
const routerRules = `table ip natlab {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" masquerade %s
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iifname "wan" drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
	}
}
`

// needNft skips (fails under CI=true) unless nft is installed.
func needNft(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		testenv.Need(t, "nft (nftables) is not installed")
	}
}

// newNATLab builds the lab; t.Cleanup kills whatever runs in it and
// deletes it, whatever happens.
func newNATLab(t testing.TB, o natOpts) *natLab {
	t.Helper()
	needNetns(t)
	needNft(t)
	start := time.Now()
	var tag [3]byte
	if _, err := rand.Read(tag[:]); err != nil {
		t.Fatal(err)
	}
	l := &natLab{t: t, prefix: "cm" + hex.EncodeToString(tag[:])}
	t.Cleanup(l.close)
	l.ip("netns", "add", l.prefix+"-hub")
	l.hub = l.prefix + "-hub" // set once made, for close
	l.ip("-n", l.hub, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.hub, "link", "set", "br0", "up")
	for n := range natNodes {
		l.ip("netns", "add", l.prefix+"-"+n.String())
		l.ns[n] = l.prefix + "-" + n.String()
		l.ip("-n", l.ns[n], "link", "set", "lo", "up")
	}
	for _, n := range []natNode{natP, natR1, natR2} {
		l.port[n] = l.prefix + "-" + n.String() // at most 11 characters: names stop at 15
		l.ip("-n", l.hub, "link", "add", l.port[n], "type", "veth", "peer", "name", "wan", "netns", l.ns[n])
		l.ip("-n", l.hub, "link", "set", l.port[n], "master", "br0", "up")
		l.ip("-n", l.ns[n], "addr", "add", natAddrs[n]+"/24", "dev", "wan")
		l.ip("-n", l.ns[n], "link", "set", "wan", "up")
	}
	for i, home := range [][2]natNode{{natR1, natH1}, {natR2, natH2}} {
		r, h := home[0], home[1]
		l.ip("-n", l.ns[r], "link", "add", "lan", "type", "veth", "peer", "name", "e0", "netns", l.ns[h])
		l.ip("-n", l.ns[r], "addr", "add", l.lanAddr(r)+"/24", "dev", "lan")
		l.ip("-n", l.ns[r], "link", "set", "lan", "up")
		l.ip("-n", l.ns[h], "addr", "add", natAddrs[h]+"/24", "dev", "e0")
		l.ip("-n", l.ns[h], "link", "set", "e0", "up")
		l.ip("-n", l.ns[h], "route", "add", "default", "via", l.lanAddr(r))
		// /proc/sys/net belongs to the namespace of the thread that
		// opens it; writing it from inside spares a dependency on sysctl.
		if err := l.in(r, func() error {
			return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
		}); err != nil {
			t.Fatalf("ip_forward on %s: %v", r, err)
		}
		random := ""
		if []natType{o.R1, o.R2}[i] == natSymmetric {
			random = "random"
		}
		nft := exec.Command("ip", "netns", "exec", l.ns[r], "nft", "-f", "-")
		nft.Stdin = strings.NewReader(fmt.Sprintf(routerRules, random))
		if out, err := nft.CombinedOutput(); err != nil {
			t.Fatalf("nft on %s: %v\n%s", r, err, out)
		}
	}
	t.Logf("natLab %s (R1 %v, R2 %v) built in %v", l.prefix, o.R1, o.R2, time.Since(start).Round(time.Millisecond))
	return l
}

// addr is node n's own address (a router's WAN address).
func (l *natLab) addr(n natNode) string { return natAddrs[n] }

// lanAddr is router r's address on its home network, its host's gateway.
func (l *natLab) lanAddr(r natNode) string { return natGateways[r] }

// namespace is node n's network namespace.
func (l *natLab) namespace(n natNode) string { return l.ns[n] }

// wrap is the command prefix that runs a program on node n.
func (l *natLab) wrap(n natNode) []string { return []string{"ip", "netns", "exec", l.ns[n]} }

// cutP stops all traffic to and from P without touching P's processes:
// its port on the bridge goes down.
func (l *natLab) cutP() { l.ip("-n", l.hub, "link", "set", l.port[natP], "down") }

// healP undoes cutP.
func (l *natLab) healP() { l.ip("-n", l.hub, "link", "set", l.port[natP], "up") }

// in runs fn on node n: see inNetns.
func (l *natLab) in(n natNode, fn func() error) error { return inNetns(l.ns[n], fn) }

// inNetns runs fn on an OS thread that has joined the network namespace
// ns. A socket belongs for its whole life to the namespace of the thread
// that made it, so fn can open sockets that the test then uses from any
// goroutine. This beats re-executing the test binary in a helper mode:
// no subprocess, no protocol, results and errors are Go values, and a
// socket left open is closed by the test's own cleanup. The thread goes
// back to its own namespace before it is unlocked; if it cannot, it stays
// locked and the runtime ends it with the goroutine. (Merely exiting
// locked is not enough: the main thread is never ended, only parked, and
// the process would then count as inside ns for ip netns pids.)
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func (l *natLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// close kills every process still in the lab's namespaces (ip netns pids:
// nothing else can be in them) and deletes the namespaces; veths, routes,
// rules and conntrack entries go with them.
func (l *natLab) close() {
	start := time.Now()
	all := append(l.ns[:], l.hub)
	for _, ns := range all {
		if ns == "" {
			continue
		}
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if pid == os.Getpid() { // a thread of ours never came back: see inNetns
				l.t.Errorf("this test process is in namespace %s", ns)
				continue
			}
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	for _, ns := range all {
		if ns == "" {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v %s", ns, err, out)
		}
	}
	l.t.Logf("natLab %s torn down in %v", l.prefix, time.Since(start).Round(time.Millisecond))
}
