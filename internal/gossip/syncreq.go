package gossip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/record"
)

// syncReqProtocol carries a sync request straight to its target, which
// answers whether it took it. A request is ephemeral (it is not stored or
// queued), so the sender must learn whether it arrived: published on the
// topic it could be lost without a word (the target offline, or not yet
// in the sender's mesh after a restart).
const syncReqProtocol protocol.ID = "/credmesh/syncreq/1"

// syncReqTimeout bounds one delivery: the dial, the request and the ack.
const syncReqTimeout = 5 * time.Second

// Acks of a sync request.
const (
	syncReqTaken   byte = 1
	syncReqRefused byte = 2
)

// ErrUndelivered says a sync request did not reach its target: it could
// not be reached, did not answer, or refused it. Nothing was queued.
var ErrUndelivered = errors.New("sync request not delivered")

// SendSyncRequest signs a sync request for Target and delivers it to
// Target directly. Reply gets nil once Target confirmed it, else an
// error wrapping ErrUndelivered. It does not wait in the actor.
type SendSyncRequest struct {
	Target record.NodeID
	Reply  chan<- error
}

func (SendSyncRequest) gossipMsg() {}

// sendSyncRequest seals the request in the actor (the sequence and key
// are the actor's) and delivers it from a worker. A member not heard from
// lately (no heartbeat or hello: offline) fails at once rather than after
// a dial that would time out.
func (g *Gossip) sendSyncRequest(ctx context.Context, m SendSyncRequest) {
	if l := g.live[m.Target]; l == nil || !l.online {
		m.Reply <- fmt.Errorf("%w: it is offline (nothing heard from it lately)", ErrUndelivered)
		return
	}
	p, err := peer.Decode(string(m.Target))
	if err != nil {
		m.Reply <- fmt.Errorf("sync request: bad node ID %s: %w", m.Target, err)
		return
	}
	key, err := record.PublicKeyOf(m.Target)
	if err != nil {
		m.Reply <- fmt.Errorf("sync request: %w", err)
		return
	}
	body := record.SyncRequest{Target: key}.Encode()
	e, err := record.Seal(g.cfg.Identity.NodeKey(), record.KindSyncReq, g.cfg.Self.NextSeq(), g.now(), body)
	if err != nil {
		m.Reply <- err
		return
	}
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		m.Reply <- g.deliverSyncRequest(ctx, p, e.Raw())
	}()
}

func (g *Gossip) deliverSyncRequest(ctx context.Context, p peer.ID, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, syncReqTimeout)
	defer cancel()
	s, err := g.h.NewStream(ctx, p, syncReqProtocol)
	if err != nil {
		return fmt.Errorf("%w: cannot reach it: %v", ErrUndelivered, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncReqTimeout))
	if err := writeFrame(s, raw); err != nil {
		return fmt.Errorf("%w: %v", ErrUndelivered, err)
	}
	_ = s.CloseWrite()
	ack := make([]byte, 1)
	if _, err := io.ReadFull(s, ack); err != nil {
		return fmt.Errorf("%w: no answer: %v", ErrUndelivered, err)
	}
	if ack[0] != syncReqTaken {
		return fmt.Errorf("%w: it refused the request (see its audit log)", ErrUndelivered)
	}
	return nil
}

// handleSyncRequest takes a sync request sent straight to this node: one
// signed by the member at the other end of the stream, addressed to this
// node, fresh. It answers whether it took it, then has the sink act.
func (g *Gossip) handleSyncRequest(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncReqTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), syncReqTimeout)
	defer cancel()
	from := s.Conn().RemotePeer()
	refuse := func(r Refusal) {
		r.Channel, r.From = ViaSyncRequest, record.NodeID(from.String())
		g.cfg.Sink.Refused(ctx, r)
		_, _ = s.Write([]byte{syncReqRefused})
	}
	raw, err := readFrame(bufio.NewReader(s), record.MaxEnvelope)
	if err != nil {
		g.log.Debug("sync request read failed", "peer", from, "err", err)
		return
	}
	env, err := record.Open(raw)
	if err != nil {
		refuse(Refusal{Reason: record.ReasonOf(err), Detail: err.Error()})
		return
	}
	body, err := record.Check(env, g.cfg.Members.Members(), g.now())
	if err != nil {
		refuse(Refusal{Env: env, Reason: record.ReasonOf(err), Detail: err.Error()})
		return
	}
	req, ok := body.(record.SyncRequest)
	if !ok || req.TargetID() != g.self || env.AuthorID() != record.NodeID(from.String()) {
		refuse(Refusal{Env: env, Reason: record.ReasonMalformed,
			Detail: "sync request stream: not a sync request for this node from the peer that sent it"})
		return
	}
	// Acted on, then confirmed: a confirmation never precedes the act.
	g.cfg.Events.SyncRequested(env.AuthorID())
	if _, err := s.Write([]byte{syncReqTaken}); err != nil {
		g.log.Debug("sync request ack failed", "peer", from, "err", err)
	}
}
