package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/testenv"
)

// netLab is a private network of n hosts: one network namespace per
// host, each with a veth into a bridge that lives in a hub namespace of
// its own, so nothing touches the machine's own interfaces or routes.
// Host i has address 10.77.0.(i+1)/24 on its interface e0. Links are cut
// with blackhole routes inside the namespaces.
type netLab struct {
	t   testing.TB
	ns  []string // node namespaces
	hub string
	cut map[[2]int]bool // blackholed (from, to)
}

// needNetns skips unless network namespaces can be made here: root and
// iproute2 (CI runs as root and installs iproute2).
func needNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Need(t, "network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Need(t, "ip (iproute2) is not installed")
	}
}

func newNetLab(t testing.TB, n int) *netLab {
	t.Helper()
	var tag [3]byte
	if _, err := rand.Read(tag[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "cm" + hex.EncodeToString(tag[:])
	l := &netLab{t: t, hub: prefix + "-hub", cut: map[[2]int]bool{}}
	t.Cleanup(l.close)
	l.ip("netns", "add", l.hub)
	l.ip("-n", l.hub, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.hub, "link", "set", "br0", "up")
	for i := range n {
		ns := fmt.Sprintf("%s-n%d", prefix, i)
		l.ip("netns", "add", ns)
		l.ns = append(l.ns, ns)
		port := fmt.Sprintf("v%d", i)
		l.ip("-n", l.hub, "link", "add", port, "type", "veth", "peer", "name", "e0", "netns", ns)
		l.ip("-n", l.hub, "link", "set", port, "master", "br0", "up")
		l.ip("-n", ns, "addr", "add", l.addr(i)+"/24", "dev", "e0")
		l.ip("-n", ns, "link", "set", "e0", "up")
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// addr is host i's address.
func (l *netLab) addr(i int) string { return fmt.Sprintf("10.77.0.%d", i+1) }

// wrap is the command prefix that runs a program on host i.
func (l *netLab) wrap(i int) []string { return []string{"ip", "netns", "exec", l.ns[i]} }

// partition cuts every link between hosts in different groups (group[i]
// is host i's group) and heals every other link.
func (l *netLab) partition(group []int) {
	for a := range l.ns {
		for b := range l.ns {
			if a == b {
				continue
			}
			want := group[a] != group[b]
			if want == l.cut[[2]int{a, b}] {
				continue
			}
			verb := "add"
			if !want {
				verb = "del"
			}
			l.ip("-n", l.ns[a], "route", verb, "blackhole", l.addr(b)+"/32")
			l.cut[[2]int{a, b}] = want
		}
	}
}

// heal restores every link.
func (l *netLab) heal() { l.partition(make([]int, len(l.ns))) }

func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// close deletes the namespaces; their veths and routes go with them.
func (l *netLab) close() {
	for _, ns := range append(l.ns, l.hub) {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Logf("ip netns del %s: %v %s", ns, err, out)
		}
	}
}
