package replica

import (
	"testing"

	"github.com/credmesh/credmesh/internal/record"
)

// TestMustSync pins which batches from peers wait for the disk: those
// that may change membership or hold a secret for this node.
func TestMustSync(t *testing.T) {
	admin, self, other := newNode(1), newNode(2), newNode(3)
	r := meshStore(t, self, admin)
	forOther := admin.secretFor(t, 1, other, "db-pass", 1)
	forSelf := admin.secretFor(t, 2, self, "db-pass", 1)
	undecodable := admin.seal(t, forOther.Kind, 3, []byte("not a secret"))
	for _, tc := range []struct {
		name string
		envs []*record.Envelope
		want bool
	}{
		{"node record", []*record.Envelope{admin.nodeRec(t, 4, "a")}, false},
		{"secret for another node", []*record.Envelope{forOther}, false},
		{"secret for this node", []*record.Envelope{forOther, forSelf}, true},
		{"admit", []*record.Envelope{forOther, admin.admit(t, 5, other)}, true},
		{"undecodable secret", []*record.Envelope{undecodable}, true},
	} {
		if got := r.mustSync(tc.envs); got != tc.want {
			t.Errorf("%s: mustSync = %v, want %v", tc.name, got, tc.want)
		}
	}
}
