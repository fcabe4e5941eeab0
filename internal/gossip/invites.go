package gossip

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// inviteProtocol carries a joiner's invite token to the inviter.
const inviteProtocol protocol.ID = "/credmesh/invite/1"

// dropRevoked closes every connection to a revoked node (the gater
// refuses new ones).
func (g *Gossip) dropRevoked() {
	m := g.cfg.Members.Members()
	for _, p := range g.h.Network().Peers() {
		if m.IsRevoked(record.NodeID(p.String())) {
			_ = g.h.Network().ClosePeer(p)
		}
	}
}

// presentClaim sends a pending invite token to inviter (after a
// connection), in the background.
func (g *Gossip) presentClaim(ctx context.Context, p peer.ID) {
	inviter := record.NodeID(p.String())
	token, ok := g.cfg.Invites.PendingClaim(ctx, inviter)
	if !ok {
		return
	}
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		err := g.claim(ctx, p, token)
		_ = g.ref.Cast(claimDone{inviter: inviter, err: err})
	}()
}

// claim presents a token: one frame out, one frame back ("ok" or why not).
func (g *Gossip) claim(ctx context.Context, p peer.ID, token []byte) error {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	s, err := g.h.NewStream(ctx, p, inviteProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	if err := writeFrame(s, token); err != nil {
		return err
	}
	ans, err := readFrame(bufio.NewReader(s), 512)
	if err != nil {
		return err
	}
	if string(ans) != "ok" {
		return &claimRefused{string(ans)}
	}
	return nil
}

type claimRefused struct{ why string }

func (e *claimRefused) Error() string { return "invite refused: " + e.why }

func (g *Gossip) onClaimDone(ctx context.Context, inviter record.NodeID, err error) {
	var refused *claimRefused
	switch {
	case err == nil:
		g.cfg.Invites.ClaimAnswered(ctx, inviter, "")
	case errors.As(err, &refused):
		g.cfg.Invites.ClaimAnswered(ctx, inviter, refused.why)
	default:
		g.log.Debug("presenting an invite failed; will retry on the next connection", "inviter", inviter, "err", err)
	}
}

// handleClaim is the inviter's side: the token must be one this node
// issued, unused and unexpired; then the claimant is trusted and admitted.
func (g *Gossip) handleClaim(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	token, err := readFrame(bufio.NewReader(s), identity.TokenSize)
	if err != nil {
		return
	}
	claimant := record.NodeID(s.Conn().RemotePeer().String())
	ctx, cancel := context.WithTimeout(context.Background(), helloTimeout)
	defer cancel()
	reply := make(chan error, 1)
	ans := "ok"
	if err := g.ref.Cast(claimed{claimant: claimant, token: token, addrs: []string{s.Conn().RemoteMultiaddr().String()}, reply: reply}); err != nil {
		ans = "the inviter is busy; try again"
	} else {
		select {
		case err := <-reply:
			if err != nil {
				ans = err.Error()
			}
		case <-ctx.Done():
			ans = "the inviter timed out"
		}
	}
	_ = writeFrame(s, []byte(ans))
	_, _ = io.Copy(io.Discard, io.LimitReader(s, 1)) // let the answer go out
}
