package p2p

import (
	"errors"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

func TestDialWhy(t *testing.T) {
	relayed := ma.StringCast("/ip4/11.0.0.10/udp/7101/quic-v1/p2p/12D3KooWBcEUrFjp2wbFbPbUpMCVW7mzuZzGkKN8GnjiSUeTj59n/p2p-circuit")
	self := ma.StringCast("/ip4/127.0.0.1/tcp/7101")
	de := func(errs ...swarm.TransportError) error { return &swarm.DialError{DialErrors: errs} }
	for _, tc := range []struct {
		name      string
		err       error
		want      string
		wantNot   string
		maxLength int
	}{
		{"no address", swarm.ErrNoAddresses, "no address known", "", 0},
		{"a real failure is named, own addresses left out",
			de(swarm.TransportError{Address: self, Cause: swarm.ErrDialToSelf}, swarm.TransportError{Address: relayed, Cause: errors.New("relay refused")}),
			relayed.String() + ": relay refused", "127.0.0.1", 0},
		{"backoff only", de(swarm.TransportError{Address: relayed, Cause: swarm.ErrDialBackoff}), "failed recently, retrying later: " + relayed.String(), "", 0},
		{"long errors are cut", errors.New(strings.Repeat("x", 1000)), "...", "", maxWhy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DialWhy(tc.err)
			if !strings.Contains(got, tc.want) || (tc.wantNot != "" && strings.Contains(got, tc.wantNot)) {
				t.Fatalf("dialWhy = %q, want it to say %q and not %q", got, tc.want, tc.wantNot)
			}
			if tc.maxLength > 0 && len(got) > tc.maxLength {
				t.Fatalf("dialWhy is %d bytes, over %d", len(got), tc.maxLength)
			}
		})
	}
}
