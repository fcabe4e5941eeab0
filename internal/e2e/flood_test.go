package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// rssKB reads a process's resident set size.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// stranger is a fresh libp2p identity that only dials.
func stranger(t *testing.T) (host.Host, *identity.Identity) {
	t.Helper()
	id, _, err := identity.LoadOrCreate(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(id.LibP2PKey()), libp2p.NoListenAddrs, libp2p.DisableRelay(), libp2p.ForceReachabilityPrivate())
	if err != nil {
		t.Fatal(err)
	}
	return h, id
}

// Strangers cannot fill the disk or the memory: 3,000 invite attempts
// with random tokens (from 30 identities) and 300 fresh identities saying
// hello leave at most 60 audit rows a minute per kind of entry and at
// most 5 new pending nodes a minute from one address (256 in all), and
// the daemon's RSS stays within 20 MB of where it started.
func TestFloodsAreBounded(t *testing.T) {
	root := t.TempDir()
	a := startMeshWith(t, daemonOpts{bin: bin}, "alpha", root+"/a") // the plain build: the race detector's memory would blur RSS
	a.waitReady()
	tk, err := identity.ParseTicket(a.ticket())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := tk.AddrInfo()
	waitHeartbeats(a)
	before := a.status()
	rss0 := rssKB(t, a.cmd.Process.Pid)

	// 3,000 invite attempts with random tokens.
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for range 30 {
		h, _ := stranger(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer h.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := h.Connect(ctx, info); err != nil {
				t.Error(err)
				return
			}
			for range 100 {
				s, err := h.NewStream(ctx, info.ID, "/credmesh/invite/1")
				if err != nil {
					t.Error(err)
					return
				}
				token := make([]byte, identity.TokenSize)
				_, _ = rand.Read(token)
				_, _ = s.Write(append(binary.AppendUvarint(nil, uint64(len(token))), token...))
				r := bufio.NewReader(s)
				n, err := binary.ReadUvarint(r)
				ans := make([]byte, min(n, 512))
				if err == nil {
					_, err = io.ReadFull(r, ans)
				}
				s.Close()
				mu.Lock()
				if err != nil {
					answers["error"]++
				} else {
					answers[string(ans)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("answers to 3,000 invites: %v", answers)
	if answers["unknown invite token"] < 2900 {
		t.Fatalf("the inviter did not refuse the random tokens: %v", answers)
	}

	// 300 fresh identities say hello.
	for i := range 300 {
		h, id := stranger(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := h.Connect(ctx, info); err != nil {
			t.Fatal(err)
		}
		s, err := h.NewStream(ctx, info.ID, "/credmesh/hello/1")
		if err != nil {
			t.Fatal(err)
		}
		rec := seal(t, id.NodeKey(), record.KindNode, time.Now(), record.Node{Hostname: "stranger-" + strconv.Itoa(i), AgeRecipient: id.Recipient()}.Encode())
		_, _ = s.Write(append(binary.AppendUvarint(nil, uint64(len(rec))), rec...))
		_, _ = io.Copy(io.Discard, io.LimitReader(s, 1<<16))
		s.Close()
		cancel()
		h.Close()
	}

	waitHeartbeats(a)
	after := a.status()
	rss1 := rssKB(t, a.cmd.Process.Pid)
	rows := after.Counts.Events - before.Counts.Events
	refused := auditCount(t, a, "invite.refused", "")
	t.Logf("audit rows added %d (invite.refused %d), pending %d, RSS %d -> %d KB", rows, refused, after.Counts.Pending, rss0, rss1)
	// The test runs within two of the limiter's one-minute windows.
	if refused > 2*60 {
		t.Errorf("%d invite.refused rows for 3,000 attempts, want at most 60 a minute", refused)
	}
	if rows > 2*60+10 {
		t.Errorf("%d audit rows added, want about the invite limit", rows)
	}
	if after.Counts.Pending > 2*5 || after.Counts.Pending > 256 {
		t.Errorf("%d pending nodes after 300 hellos from one address, want at most 5 a minute", after.Counts.Pending)
	}
	if rss1-rss0 > 20<<10 {
		t.Errorf("RSS grew by %d KB, want at most 20 MB", rss1-rss0)
	}
}
