package gossip

import (
	"bufio"
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/record"
)

// revokedProtocol tells a revoked node why it is refused: the member it
// connects to sends the revoke records of it that count, then hangs up.
// The revoked node applies them like any record (they count only when
// signed by an admin it trusts), so it knows it is revoked.
const revokedProtocol protocol.ID = "/credmesh/revoked/1"

// noticeEvery paces notices to one revoked peer.
const noticeEvery = time.Minute

// maxNoticeRecords caps the revoke records one notice carries.
const maxNoticeRecords = 8

// onRevokedConnected tells a revoked node it is revoked (at most once per
// noticeEvery) and closes the connection.
func (g *Gossip) onRevokedConnected(ctx context.Context, p peer.ID) {
	id := record.NodeID(p.String())
	if last, ok := g.noticed[p]; ok && g.now().Sub(last) < noticeEvery {
		g.log.Debug("revoked node connected; hanging up (told it recently)", "node", id)
		_ = g.h.Network().ClosePeer(p)
		return
	}
	g.noticed[p] = g.now()
	rev, _ := g.cfg.Members.Members().Revocation(id)
	raws, err := g.cfg.Peers.Records(ctx, rev.Records)
	if err != nil || len(raws) == 0 {
		_ = g.h.Network().ClosePeer(p)
		return
	}
	if len(raws) > maxNoticeRecords {
		raws = raws[:maxNoticeRecords]
	}
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		defer g.h.Network().ClosePeer(p) //nolint:errcheck // hanging up anyway
		sctx, cancel := context.WithTimeout(ctx, helloTimeout)
		defer cancel()
		s, err := g.h.NewStream(network.WithAllowLimitedConn(sctx, "revoked"), p, revokedProtocol)
		if err != nil {
			g.log.Debug("revocation notice not sent", "node", id, "err", err)
			return
		}
		g.log.Debug("telling a revoked node it is revoked", "node", id, "records", len(raws))
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(helloTimeout))
		for _, raw := range raws {
			if writeFrame(s, raw) != nil {
				return
			}
		}
		_ = s.CloseWrite()
		buf := make([]byte, 1)
		_, _ = s.Read(buf) // wait for the other side to finish reading
	}()
}

// handleRevoked reads a revocation notice: revoke records, applied as if
// they came by gossip.
func (g *Gossip) handleRevoked(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), helloTimeout)
	defer cancel()
	from := record.NodeID(s.Conn().RemotePeer().String())
	r := bufio.NewReader(s)
	var envs []*record.Envelope
	for range maxNoticeRecords {
		raw, err := readFrame(r, record.MaxEnvelope)
		if err != nil {
			break
		}
		env, err := record.Open(raw)
		if err != nil || env.Kind != record.KindRevoke {
			g.cfg.Sink.Refused(ctx, Refusal{Reason: record.ReasonOf(err), Detail: "revocation notice: not a revoke record", Channel: ViaNotice, From: from})
			return
		}
		envs = append(envs, env)
	}
	if len(envs) > 0 {
		g.cfg.Sink.Received(ctx, envs, ViaNotice, from)
	}
}
