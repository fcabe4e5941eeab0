package node

import (
	"context"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

// reachable refuses a sync request for a member this node has not heard
// from lately. A sync request is ephemeral (it is not stored, and nothing
// delivers it later): sent to an offline node it would be lost, and
// delivered hours later it would rewrite credentials and restart units
// at a moment nobody chose. So it is sent only to an online member, and
// otherwise the caller is told and nothing is sent.
func (n *Node) reachable(ctx context.Context, id record.NodeID) error {
	p, ok, err := n.store.Peer(ctx, id)
	if err != nil {
		return err
	}
	if ok && p.Online {
		return nil
	}
	name := string(id)
	if ok && p.Hostname != "" {
		name = p.Hostname + " (" + id.Short() + ")"
	}
	seen := "never heard from"
	if ok && !p.LastSeen.IsZero() {
		seen = "last heard from " + n.cfg.Now().Sub(p.LastSeen).Round(time.Second).String() + " ago"
	}
	return fmt.Errorf("%w: %s is offline (%s): the sync request was not sent. When it comes back it catches up "+
		"and writes every changed secret by itself; run sync --node again then to force a full rewrite",
		api.ErrConflict, name, seen)
}
