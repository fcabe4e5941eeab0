package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/record"
)

// record computes node IDs without libp2p; they must be libp2p's.
func TestRecordNodeIDIsLibp2pPeerID(t *testing.T) {
	for range 200 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := crypto.UnmarshalEd25519PublicKey(pub)
		want, err := peer.IDFromPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if got := record.NodeIDOf(pub); string(got) != want.String() {
			t.Fatalf("record.NodeIDOf = %s, libp2p says %s", got, want)
		}
		back, err := record.PublicKeyOf(record.NodeID(want.String()))
		if err != nil || !back.Equal(pub) {
			t.Fatalf("PublicKeyOf(%s) = %x, %v", want, back, err)
		}
	}
}
