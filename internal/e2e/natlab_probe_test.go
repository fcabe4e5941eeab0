package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNATLab proves natLab with real traffic between its namespaces, for
// two cone routers and for a cone and a symmetric one: the homes reach P
// through their routers' NAT, P sees the routers' WAN addresses (with the
// source port kept only by cone NAT), nothing reaches a home unsolicited,
// and a UDP hole punch through a rendezvous on P works between two cone
// NATs and fails when one NAT is symmetric. Every packet stays inside the
// lab's namespaces.
func TestNATLab(t *testing.T) {
	needNetns(t)
	needNft(t)
	var prefixes []string
	var sleepers []*exec.Cmd
	for _, o := range []natOpts{{R1: natCone, R2: natCone}, {R1: natCone, R2: natSymmetric}} {
		t.Run(o.R1.String()+"-"+o.R2.String(), func(t *testing.T) {
			l := newNATLab(t, o)
			prefixes = append(prefixes, l.prefix)
			checkRootUntouched(t, l.prefix)
			// A process left running in the lab: cleanup must kill it.
			args := append(l.wrap(natP), "sleep", "600")
			sleeper := exec.Command(args[0], args[1:]...)
			if err := sleeper.Start(); err != nil {
				t.Fatal(err)
			}
			sleepers = append(sleepers, sleeper)
			testNATLab(t, l, o)
		})
	}
	// Cleanup has run for every lab: nothing of it may be left.
	for _, p := range prefixes {
		checkRootUntouched(t, p)
		out, err := exec.Command("ip", "netns", "list").CombinedOutput()
		if err != nil {
			t.Fatalf("ip netns list: %v\n%s", err, out)
		}
		if strings.Contains(string(out), p) {
			t.Errorf("namespaces of lab %s left after cleanup:\n%s", p, out)
		}
	}
	for _, s := range sleepers {
		done := make(chan error, 1)
		go func() { done <- s.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("sleep in the lab exited cleanly: cleanup did not kill it")
			}
		case <-time.After(10 * time.Second):
			s.Process.Kill() // ours: started above
			t.Errorf("sleep %d in the lab still runs after cleanup", s.Process.Pid)
		}
	}
}

func testNATLab(t *testing.T, l *natLab, o natOpts) {
	pub := [3]netip.AddrPort{}
	for i := range pub {
		pub[i] = netip.MustParseAddrPort(fmt.Sprintf("%s:%d", l.addr(natP), 3478+i))
		reflector(l.udp(natP, pub[i].String()))
	}
	for _, n := range []natNode{natP, natH1, natH2, natR1, natR2} {
		serveTCP(t, l, n)
	}

	// 1 and 2: each home reaches P over UDP and TCP, seen from its
	// router's WAN address; cone keeps the source port for every
	// destination, symmetric does not.
	for _, home := range []struct {
		h, r natNode
		nat  natType
	}{{natH1, natR1, o.R1}, {natH2, natR2, o.R2}} {
		c := l.udp(home.h, "0.0.0.0:0")
		local := c.LocalAddr().(*net.UDPAddr).Port
		var ports []uint16
		for _, dst := range pub {
			seen, err := ask(c, dst, 2*time.Second)
			if err != nil {
				t.Fatalf("%v asking P %v: %v", home.h, dst, err)
			}
			if seen.Addr().String() != l.addr(home.r) {
				t.Errorf("P saw %v from %v, want %v's WAN address %s", seen, home.h, home.r, l.addr(home.r))
			}
			ports = append(ports, seen.Port())
		}
		t.Logf("%v (%v NAT) local port %d, seen by P's three ports as %v", home.h, home.nat, local, ports)
		same := ports[0] == ports[1] && ports[1] == ports[2]
		if home.nat == natCone && (!same || int(ports[0]) != local) {
			t.Errorf("cone NAT: %v's port %d became %v, want kept for every destination", home.h, local, ports)
		}
		if home.nat == natSymmetric && same {
			t.Errorf("symmetric NAT: %v got the same port %d for three destinations", home.h, ports[0])
		}
		if err := l.dial(home.h, l.addr(natP)+":7000", 2*time.Second); err != nil {
			t.Errorf("%v to P over TCP: %v", home.h, err)
		}
	}

	// 3: nothing reaches a home unsolicited, from P or the other home,
	// neither the host nor its router. P and the routers get routes to
	// the home networks, as if the ISP routed private addresses, so that
	// what stops these packets is the routers' rules and not a missing
	// route. Controls: every target listens and is reachable from its
	// own home.
	l.ip("-n", l.namespace(natP), "route", "add", "10.1.0.0/24", "via", l.addr(natR1))
	l.ip("-n", l.namespace(natP), "route", "add", "10.2.0.0/24", "via", l.addr(natR2))
	l.ip("-n", l.namespace(natR1), "route", "add", "10.2.0.0/24", "via", l.addr(natR2))
	l.ip("-n", l.namespace(natR2), "route", "add", "10.1.0.0/24", "via", l.addr(natR1))
	type attempt struct {
		from natNode
		to   string
	}
	var inside, outside []attempt
	for _, home := range [][3]natNode{{natH1, natR1, natH2}, {natH2, natR2, natH1}} {
		h, r, other := home[0], home[1], home[2]
		inside = append(inside, attempt{r, l.addr(h)}, attempt{h, l.addr(r)})
		for _, from := range []natNode{natP, other} {
			outside = append(outside, attempt{from, l.addr(h)}, attempt{from, l.addr(r)})
		}
	}
	errs := make([]chan error, len(outside))
	for i, a := range outside {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- l.dial(a.from, a.to+":7000", 500*time.Millisecond) }()
	}
	for _, a := range inside {
		if err := l.dial(a.from, a.to+":7000", 2*time.Second); err != nil {
			t.Errorf("control: %v to %s: %v", a.from, a.to, err)
		}
	}
	for i, a := range outside {
		if err := <-errs[i]; err == nil {
			t.Errorf("%v reached %s:7000 unsolicited", a.from, a.to)
		}
	}

	// 4: UDP hole punching between H1 and H2, rendezvous on P.
	got1, got2 := punch(t, l, pub[0], 2*time.Second)
	t.Logf("hole punch, %v and %v NAT: H1 heard H2 %v, H2 heard H1 %v", o.R1, o.R2, got1, got2)
	if want := o.R1 == natCone && o.R2 == natCone; got1 != want || got2 != want {
		t.Errorf("hole punch: H1 heard H2 %v, H2 heard H1 %v, want %v both", got1, got2, want)
	}

	// cutP stops all traffic to P; healP brings it back.
	c := l.udp(natH1, "0.0.0.0:0")
	l.cutP()
	if seen, err := ask(c, pub[0], 300*time.Millisecond); err == nil {
		t.Errorf("P answered (saw %v) while cut", seen)
	}
	l.healP()
	if _, err := ask(c, pub[0], 5*time.Second); err != nil {
		t.Errorf("P after healP: %v", err)
	}

	// Control for 3, last as it drops R2's rules: without them, P and
	// H1 reach H2 and R2, so it is the rules that stopped them above.
	l.nft(natR2, "flush ruleset")
	for _, a := range outside {
		if strings.HasPrefix(a.to, "10.2.") || a.to == l.addr(natR2) {
			if err := l.dial(a.from, a.to+":7000", 2*time.Second); err != nil {
				t.Errorf("control: without R2's rules %v to %s: %v", a.from, a.to, err)
			}
		}
	}
}

// punch has H1 and H2 each learn its public address from the reflector
// at rv on P (the rendezvous; the test hands each the other's), then
// both send to the other's public address until each has heard the other
// or the time is up.
func punch(t *testing.T, l *natLab, rv netip.AddrPort, within time.Duration) (got1, got2 bool) {
	c1, c2 := l.udp(natH1, "0.0.0.0:0"), l.udp(natH2, "0.0.0.0:0")
	pub1, err := ask(c1, rv, 2*time.Second)
	if err != nil {
		t.Fatal("H1 at the rendezvous:", err)
	}
	pub2, err := ask(c2, rv, 2*time.Second)
	if err != nil {
		t.Fatal("H2 at the rendezvous:", err)
	}
	heard := func(c *net.UDPConn) bool {
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return false
			}
			if from != rv && string(buf[:n]) == "punch" {
				return true
			}
		}
	}
	for deadline := time.Now().Add(within); time.Now().Before(deadline) && !(got1 && got2); {
		c1.WriteToUDPAddrPort([]byte("punch"), pub2) // errors: a punch packet may be refused
		c2.WriteToUDPAddrPort([]byte("punch"), pub1)
		got1 = got1 || heard(c1)
		got2 = got2 || heard(c2)
	}
	return got1, got2
}

// ask sends a query from c to the reflector at dst until it answers or
// within passes, and returns the address the reflector saw it come from.
func ask(c *net.UDPConn, dst netip.AddrPort, within time.Duration) (netip.AddrPort, error) {
	deadline := time.Now().Add(within)
	buf := make([]byte, 64)
	lastErr := errors.New("no answer")
	for time.Now().Before(deadline) {
		if _, err := c.WriteToUDPAddrPort([]byte("?"), dst); err != nil {
			lastErr = err // P may be cut: retry until the deadline
		}
		wait := time.Now().Add(100 * time.Millisecond)
		if wait.After(deadline) {
			wait = deadline
		}
		c.SetReadDeadline(wait)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			continue
		}
		if err != nil {
			return netip.AddrPort{}, err
		}
		if from == dst {
			return netip.ParseAddrPort(string(buf[:n]))
		}
	}
	return netip.AddrPort{}, fmt.Errorf("no answer from %v within %v: %v", dst, within, lastErr)
}

// reflector answers every datagram on c with the address it came from.
func reflector(c *net.UDPConn) {
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed by cleanup
			}
			c.WriteToUDPAddrPort([]byte(from.String()), from)
		}
	}()
}

// serveTCP accepts and closes connections on port 7000 of node n.
func serveTCP(t *testing.T, l *natLab, n natNode) {
	var ln net.Listener
	if err := l.in(n, func() (err error) { ln, err = net.Listen("tcp4", "0.0.0.0:7000"); return err }); err != nil {
		t.Fatalf("listen on %v: %v", n, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// udp is a UDP socket on node n bound to addr, closed at cleanup.
func (l *natLab) udp(n natNode, addr string) *net.UDPConn {
	l.t.Helper()
	var c *net.UDPConn
	if err := l.in(n, func() (err error) {
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		return err
	}); err != nil {
		l.t.Fatalf("udp on %v: %v", n, err)
	}
	l.t.Cleanup(func() { c.Close() })
	return c
}

// dial makes a TCP connection from node n to addr and closes it.
func (l *natLab) dial(n natNode, addr string, timeout time.Duration) error {
	return l.in(n, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// nft runs an nft command on router r.
func (l *natLab) nft(r natNode, cmd string) {
	l.t.Helper()
	args := append(append(l.wrap(r), "nft"), strings.Fields(cmd)...)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("nft %s on %v: %v\n%s", cmd, r, err, out)
	}
}

// checkRootUntouched fails t if the machine's own network namespace has
// an interface of lab prefix (or one whose peer is in the lab) or one of
// the lab's addresses.
func checkRootUntouched(t *testing.T, prefix string) {
	t.Helper()
	links, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, links)
	}
	if strings.Contains(string(links), prefix) {
		t.Errorf("the machine's own namespace has an interface of lab %s:\n%s", prefix, links)
	}
	addrs, err := exec.Command("ip", "-o", "-4", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr show: %v\n%s", err, addrs)
	}
	for _, a := range append(natAddrs[:], natGateways[natR1], natGateways[natR2]) {
		if a != "" && strings.Contains(string(addrs), " "+a+"/") {
			t.Errorf("the machine's own namespace has the lab's address %s:\n%s", a, addrs)
		}
	}
}
