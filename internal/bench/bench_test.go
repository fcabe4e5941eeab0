package bench

import (
	"context"
	"testing"
	"time"
)

// The harness itself works: a small cluster converges, records reach
// every node, and traffic is counted. (The numbers are for the tool to
// print, not for a test to judge.)
func TestHarnessSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{N: 3, Heartbeat: 500 * time.Millisecond, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if err := c.WaitConverged(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	d, err := c.Delivery(ctx, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.ToAll.Samples != 5 || d.ToEach.Samples != 10 || d.ToAll.Max <= 0 {
		t.Fatalf("delivery = %+v, want 5 records measured on 2 receivers each", d)
	}
	tr, err := c.IdleTraffic(ctx, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tr.InPerNode <= 0 || tr.HeartbeatSeconds != 0.5 {
		t.Fatalf("traffic = %+v, want heartbeats counted at a 0.5s interval", tr)
	}
}
