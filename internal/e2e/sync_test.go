package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// A sync request goes straight to its target, which confirms it: to one
// that is stopped or killed, sync --node says it was not delivered and
// exits 1, and nothing is queued for later; back online, the node gets
// the next one.
func TestSyncToAnOfflineNode(t *testing.T) {
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	c := startMesh(t, "charlie", root+"/c", a.ticket())
	mustCLI(t, a.dataDir, "peers", "add", c.ticket())
	cid := c.status().NodeID
	online := func(want bool) {
		t.Helper()
		eventually(t, 30*time.Second, "alpha sees charlie online="+yes(want), func() bool {
			p, ok := find(a.peers(), cid)
			return ok && p.Online == want
		}, func() string { return describe(a.peers()) })
	}
	online(true)
	received := 0
	syncOK := func(n *meshNode) {
		t.Helper()
		if out := mustCLI(t, a.dataDir, "sync", "--node", "charlie"); !strings.Contains(out, "asked") {
			t.Fatalf("sync --node charlie printed %q", out)
		}
		received++
		eventually(t, 30*time.Second, "charlie receives the sync request", func() bool {
			return auditCount(t, n, "sync.received", "") == received
		}, nil)
	}
	syncOK(c)

	// Not subtests: the restarted daemon must outlive each step.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		c.stop(sig)
		online(false)
		r := cli(t, a.dataDir, "sync", "--node", "charlie")
		if r.code != 1 || !strings.Contains(r.stderr, "offline") || !strings.Contains(r.stderr, "not delivered") {
			t.Fatalf("sync --node charlie after %v: exit %d %q, want 1 saying it is offline and nothing was delivered", sig, r.code, r.stderr)
		}
		if n := auditCount(t, a, "sync.requested", ""); n != received {
			t.Fatalf("after %v alpha audited %d sync requests, want %d: the refused one is not a request", sig, n, received)
		}
		c = startMesh(t, "charlie", c.dataDir)
		online(true)
		syncOK(c) // and only the new one arrives: nothing was queued
	}
}
