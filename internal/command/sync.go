package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

// Audit event types of sync requests.
const (
	EventSyncRequested = "sync.requested"
	EventSyncReceived  = "sync.received"
)

// ErrUndelivered says a sync request did not reach its target; Mesh
// implementations wrap it.
var ErrUndelivered = errors.New("sync request not delivered")

// Sync rewrites this node's credentials now, or asks node to rewrite its
// own (a signed sync request that only it acts on).
func (c *Commands) Sync(ctx context.Context, node string) (api.SyncResult, error) {
	target := c.self
	if node != "" {
		var err error
		if target, err = c.r.Resolve(ctx, node); err != nil {
			return api.SyncResult{}, err
		}
	}
	if target == c.self {
		c.r.AuditData(ctx, EventSyncRequested, "credential sync of this node", map[string]any{"target": target})
		if err := c.creds.SyncAll(true, "credmesh sync"); err != nil {
			return api.SyncResult{}, err
		}
		return api.SyncResult{Target: string(target), Local: true}, nil
	}
	if !c.r.Members().IsMember(target) {
		return api.SyncResult{}, fmt.Errorf("%w: %s is not a member", api.ErrInvalid, target)
	}
	if err := c.sendSyncRequest(ctx, target); err != nil {
		return api.SyncResult{}, err
	}
	c.r.AuditData(ctx, EventSyncRequested, "credential sync requested of "+string(target), map[string]any{"target": target})
	return api.SyncResult{Target: string(target)}, nil
}

// SyncRequested is a member asking this node to rewrite its credentials.
func (c *Commands) SyncRequested(from record.NodeID) {
	c.log.Info("credential sync requested", "by", from)
	c.r.AuditData(context.Background(), EventSyncReceived, "sync requested by "+string(from), map[string]any{"from": from})
	if err := c.creds.SyncAll(true, "requested by "+string(from)); err != nil {
		c.log.Warn("sync request not queued", "err", err)
	}
}

// sendSyncRequest delivers a sync request straight to its target and
// waits for the target to confirm it. A sync request is ephemeral: it is
// not stored and nothing delivers it later, because a forced rewrite (and
// its unit restarts) arriving hours later, at a moment nobody chose,
// would surprise more than it helps; a node that comes back catches up
// and writes every changed secret by itself. So when the target cannot be
// reached the caller is told that nothing was sent.
func (c *Commands) sendSyncRequest(ctx context.Context, id record.NodeID) error {
	err := c.mesh.SyncRequest(ctx, id)
	if !errors.Is(err, ErrUndelivered) {
		return err
	}
	p, ok, perr := c.r.Peer(ctx, id)
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
		state = "not answering (heard from " + c.now().Sub(p.LastSeen).Round(time.Second).String() + " ago)"
	case ok && !p.LastSeen.IsZero():
		state = "offline: last heard from " + c.now().Sub(p.LastSeen).Round(time.Second).String() + " ago"
	}
	return fmt.Errorf("%w: %s is %s, so the sync request was not delivered and nothing was queued (%v). "+
		"When it comes back it catches up and writes every changed secret by itself; run sync --node again then to force a full rewrite",
		api.ErrConflict, name, state, err)
}
