package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/record"
)

// sendSyncRequest delivers a sync request straight to its target and
// waits for the target to confirm it. A sync request is ephemeral: it is
// not stored and nothing delivers it later, because a forced rewrite (and
// its unit restarts) arriving hours later, at a moment nobody chose,
// would surprise more than it helps; a node that comes back catches up
// and writes every changed secret by itself. So when the target cannot be
// reached the caller is told that nothing was sent.
func (n *Node) sendSyncRequest(ctx context.Context, id record.NodeID) error {
	err := actor.Call2(ctx, n.gossipRef, func(reply chan<- error) gossip.Msg {
		return gossip.SendSyncRequest{Target: id, Reply: reply}
	})
	if !errors.Is(err, gossip.ErrUndelivered) {
		return err
	}
	p, ok, perr := n.store.Peer(ctx, id)
	if perr != nil {
		return perr
	}
	name := string(id)
	if ok && p.Hostname != "" {
		name = p.Hostname + " (" + id.Short() + ")"
	}
	state := "never heard from"
	switch {
	case ok && p.Online:
		state = "not answering (heard from " + n.cfg.Now().Sub(p.LastSeen).Round(time.Second).String() + " ago)"
	case ok && !p.LastSeen.IsZero():
		state = "offline: last heard from " + n.cfg.Now().Sub(p.LastSeen).Round(time.Second).String() + " ago"
	}
	return fmt.Errorf("%w: %s is %s, so the sync request was not delivered and nothing was queued (%v). "+
		"When it comes back it catches up and writes every changed secret by itself; run sync --node again then to force a full rewrite",
		api.ErrConflict, name, state, err)
}
