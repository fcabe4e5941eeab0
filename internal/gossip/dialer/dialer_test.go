package dialer

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A changed node record brings a backed-off dial to within a second, but
// never closer, and keeps the backoff; with a dial in flight it applies
// when that dial fails.
func TestRedialSoon(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := &state{backoff: 32 * time.Second, next: now.Add(30 * time.Second)}
	d.soon(now)
	if want := now.Add(minBackoff); !d.next.Equal(want) || d.backoff != 32*time.Second {
		t.Fatalf("after soon: next in %v, backoff %v; want next in %v, backoff 32s", d.next.Sub(now), d.backoff, minBackoff)
	}
	// Another record at once cannot bring it closer.
	d.soon(now)
	if d.next.Before(now.Add(minBackoff)) {
		t.Fatalf("a second record brought the dial to %v from now", d.next.Sub(now))
	}
	// A dial due sooner stays as it is.
	d = &state{next: now.Add(100 * time.Millisecond)}
	d.soon(now)
	if !d.next.Equal(now.Add(100 * time.Millisecond)) {
		t.Fatalf("a dial due in 100ms moved to %v", d.next.Sub(now))
	}

	// In flight: the failure that follows is retried within a second,
	// not after the doubled backoff.
	p := peer.ID("p")
	g := New(Config{Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	g.states[p] = &state{backoff: 16 * time.Second, inflight: true}
	g.states[p].soon(now)
	g.Done(p, errors.New("no route"))
	if d := g.states[p]; d.next.After(now.Add(minBackoff)) || d.backoff != 32*time.Second {
		t.Fatalf("after the in-flight dial failed: next in %v, backoff %v; want within %v, backoff 32s", d.next.Sub(now), d.backoff, minBackoff)
	}
	// Without a redial asked for, a failure waits out its backoff.
	g.Done(p, errors.New("no route"))
	if d := g.states[p]; d.next.Before(now.Add(50 * time.Second)) {
		t.Fatalf("a plain failure retries in %v, want about the 64s backoff", d.next.Sub(now))
	}
}
