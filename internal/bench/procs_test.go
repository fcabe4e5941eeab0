package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/testenv"
)

// buildCredmesh builds the real binary for the process harness.
func buildCredmesh(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "credmesh")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/credmesh/credmesh/cmd/credmesh").CombinedOutput()
	if err != nil {
		t.Fatalf("build credmesh: %v\n%s", err, out)
	}
	return bin
}

// The process harness works end to end on three credmesh processes: the
// catch-up runs read the pulls from B's log (in sync: one round trip;
// missing some: records moved), the idle window reads CPU and memory from
// /proc, and, as root, set -> credential file is timed by inotify.
func TestProcsSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildCredmesh(t)

	c, err := StartProcs(ctx, ProcOptions{Bin: bin, N: 3, Dir: t.TempDir(), LogLevel: "debug", SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.WaitConverged(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Run("set to credential", func(t *testing.T) {
		if _, err := exec.LookPath("systemd-creds"); err != nil {
			testenv.Need(t, "systemd-creds is not installed")
		}
		if os.Geteuid() != 0 {
			testenv.Need(t, "systemd-creds encrypt with the host key needs root")
		}
		l, err := c.CredLatency(ctx, 3, 1, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if l.ToOne.Samples != 3 || l.ToAll.Samples != 1 || l.ToOne.P50 <= 0 || l.BurstMS <= 0 || len(l.Samples) != 3 {
			t.Fatalf("set -> credential = %+v", l)
		}
	})
	idle, err := c.Idle(ctx, 6*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if idle.RSSMeanMB <= 1 || idle.CPUMean < 0 || idle.InPerNode <= 0 {
		t.Fatalf("idle = %+v, want memory and heartbeat traffic seen", idle)
	}
	runs, err := c.CatchUp(ctx, 20, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	// In sync, a pull lists at most the few records (B's own node and
	// sysinfo after its restart) stored since; with 3 missing, it fetches
	// them (each secret record is about 630 bytes).
	if len(runs) != 2 || runs[0].Pulls < 1 || runs[0].BytesIn+runs[0].BytesOut > 4096 || runs[1].RoundTrips < 2 || runs[1].BytesIn < 3*400 {
		t.Fatalf("catch-up = %+v, want a small in-sync pull, then 3 records fetched", runs)
	}
}
