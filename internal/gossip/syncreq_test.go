package gossip

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/record"
)

func sendSync(from *testNode, to record.NodeID) error {
	return actor.Call2(context.Background(), from.ref, func(r chan<- error) Msg {
		return SendSyncRequest{Target: to, Reply: r}
	})
}

// A sync request goes straight to its target, which confirms it; one the
// target cannot take (an offline target, a sender it does not trust) is
// reported undelivered, never silently dropped.
func TestSyncRequestIsConfirmedOrUndelivered(t *testing.T) {
	a, b, s := startNode(t, "a"), startNode(t, "b"), startNode(t, "stranger")
	addPeer(t, a, b)
	addPeer(t, b, a)
	addPeer(t, s, a) // the stranger trusts a; a never adds it
	waitFor(t, "a and b online to each other, a online to the stranger", func() bool {
		return online(a, b.self) && online(b, a.self) && online(s, a.self)
	})
	tests := []struct {
		name      string
		from      *testNode
		to        *testNode
		delivered bool
		wantErr   string
	}{
		{"member to an online member", a, b, true, ""},
		{"the other way", b, a, true, ""},
		{"a stranger to a member", s, a, false, "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.to.sink.syncRequests())
			err := sendSync(tc.from, tc.to.self)
			if tc.delivered != (err == nil) || (err != nil && (!errors.Is(err, ErrUndelivered) || !strings.Contains(err.Error(), tc.wantErr))) {
				t.Fatalf("send: %v, want delivered %v (else ErrUndelivered, %q)", err, tc.delivered, tc.wantErr)
			}
			want := []record.NodeID{}
			if tc.delivered {
				want = []record.NodeID{tc.from.self}
			}
			if diff := cmp.Diff(want, tc.to.sink.syncRequests()[before:], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sync requests the target acted on (-want +got):\n%s", diff)
			}
		})
	}

	// b stops: a says at once that it cannot deliver, and queues nothing.
	b.stop()
	waitFor(t, "a marks b offline", func() bool { return !online(a, b.self) })
	if err := sendSync(a, b.self); !errors.Is(err, ErrUndelivered) {
		t.Fatalf("send to a stopped member: %v, want ErrUndelivered", err)
	}
}
