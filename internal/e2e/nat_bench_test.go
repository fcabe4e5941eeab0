package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// BenchmarkNATDelivery measures, in the natLab with the product's default
// timers, a secret set on H1 until it is H2's credential file (each
// iteration one secret, b.N of them): relayed through P (symmetric/cone)
// and over the hole-punched path (cone/cone). It also measures what P
// spends: its CPU time and the bytes on its WAN interface, during the
// secrets, for ten secrets of 100 KB, and over an idle minute, when it
// relays H1 and H2's traffic and when it does not. P is a member: it
// receives and stores every secret either way.
//
//	go test ./internal/e2e -run '^$' -bench BenchmarkNATDelivery -benchtime 100x -timeout 20m
func BenchmarkNATDelivery(b *testing.B) {
	needSystemdCreds(b)
	for _, tc := range []struct {
		name string
		opts natOpts
		how  string
	}{
		{"relayed", natOpts{R1: natSymmetric, R2: natCone}, api.ReachRelayed},
		{"hole-punched", natOpts{R1: natCone, R2: natCone}, api.ReachHolePunched},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lab, root := newNATLab(b, tc.opts), b.TempDir()
			p, h1, h2 := natMesh(b, lab, root, nil)
			waitReach(b, h1, h2.status().NodeID, 2*time.Minute, tc.how)
			setNAT(b, h1, "warm", []byte("warm"))
			waitCredWithin(b, h2, "warm", []byte("warm"), time.Minute)
			pid := p.cmd.Process.Pid

			// Idle: a minute of heartbeats, anti-entropy and QUIC upkeep.
			const idle = time.Minute
			c0, n0 := cpuTicks(b, pid), wanBytes(b, pid)
			time.Sleep(idle)
			c1, n1 := cpuTicks(b, pid), wanBytes(b, pid)

			b.ResetTimer()
			var took []time.Duration
			for i := range b.N {
				name := fmt.Sprintf("s%d", i)
				start := time.Now()
				setNAT(b, h1, name, []byte("value "+name))
				for {
					if _, err := os.Stat(credFile(h2, name)); err == nil {
						break
					}
					if time.Since(start) > time.Minute {
						b.Fatalf("secret %s not on H2 after a minute", name)
					}
					time.Sleep(time.Millisecond)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			c2, n2 := cpuTicks(b, pid), wanBytes(b, pid)
			// Ten secrets of 100 KB, where what P carries for H1 and H2
			// stands out from what it stores as a member.
			const big = 100 << 10
			for i := range 10 {
				name := fmt.Sprintf("big%d", i)
				v := bytes.Repeat([]byte{byte('a' + i)}, big)
				setNAT(b, h1, name, v)
				waitCredWithin(b, h2, name, v, time.Minute)
			}
			n3 := wanBytes(b, pid)
			slices.Sort(took)
			q := func(f float64) float64 { return float64(took[int(f*float64(len(took)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(n2-n1)/float64(b.N), "P-bytes/secret")
			b.ReportMetric(float64(c2-c1)*10/float64(b.N), "P-cpu-ms/secret")
			b.ReportMetric(float64(n3-n2)/10/1024, "P-KB/100KB-secret")
			b.ReportMetric(float64(n1-n0)/idle.Seconds(), "P-idle-B/s")
			b.ReportMetric(float64(c1-c0)*10/idle.Seconds()/10, "P-idle-cpu-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// cpuTicks is a process's user and system CPU time in clock ticks
// (1/100 s on Linux).
func cpuTicks(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// wanBytes is the bytes received and sent on the "wan" interface of the
// network namespace pid runs in.
func wanBytes(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || name != "wan" {
			continue
		}
		v := strings.Fields(rest)
		rx, _ := strconv.ParseInt(v[0], 10, 64)
		tx, _ := strconv.ParseInt(v[8], 10, 64)
		return rx + tx
	}
	t.Fatalf("no wan interface in /proc/%d/net/dev", pid)
	return 0
}
