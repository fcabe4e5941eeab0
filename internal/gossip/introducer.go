package gossip

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/credmesh/credmesh/internal/record"
)

// helloProtocol is the introduction exchanged on every new connection:
// each side sends its latest signed node record (what any stranger may
// see: node ID, hostname, addresses, age recipient, version).
const helloProtocol protocol.ID = "/credmesh/hello/1"

// maxHello caps a hello frame (a node record envelope).
const maxHello = 16 << 10

const helloTimeout = 10 * time.Second

// onConnected starts the hello exchange on connections this node dialled
// (the other side answers in handleHello).
func (g *Gossip) onConnected(ctx context.Context, p peer.ID, inbound bool) {
	if g.cfg.Members.Members().IsRevoked(record.NodeID(p.String())) {
		g.onRevokedConnected(ctx, p)
		return
	}
	g.dialer.Connected(p)
	if !inbound {
		g.startHello(ctx, p)
	}
	g.presentClaim(ctx, p)
}

// restarted notes the start time a peer's hello gives and, when it is
// newer than the one before (the peer restarted), closes every other
// connection to it: they lead to a process that is gone and linger until
// the transport's idle timeout, and a stream opened on one fails (a QUIC
// stateless reset), so pulls and hellos would keep failing until then.
// Two live connections of one run of a peer (a simultaneous dial) give
// the same start time and are left alone.
func (g *Gossip) restarted(p peer.ID, started time.Time, on network.Conn) {
	g.startsMu.Lock()
	prev, seen := g.starts[p]
	if !seen || started.After(prev) {
		g.starts[p] = started
	}
	g.startsMu.Unlock()
	if !seen || !started.After(prev) {
		return
	}
	closed := 0
	for _, c := range g.h.Network().ConnsToPeer(p) {
		if c != on {
			_ = c.Close()
			closed++
		}
	}
	g.log.Debug("peer restarted; closed its older connections", "peer", p, "closed", closed)
}

// startHello runs a hello exchange with p in the background.
func (g *Gossip) startHello(ctx context.Context, p peer.ID) {
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		if err := g.helloOut(ctx, p); err != nil && ctx.Err() == nil {
			g.log.Debug("hello failed", "peer", p, "err", err)
		}
	}()
}

func (g *Gossip) helloOut(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	s, err := g.h.NewStream(ctx, p, helloProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	if err := g.writeHello(ctx, s); err != nil {
		return err
	}
	raw, err := readFrame(bufio.NewReader(s), maxHello)
	if err != nil {
		return err
	}
	return g.processHello(ctx, p, raw, s.Conn())
}

// handleHello answers a hello from a peer that dialled this node.
func (g *Gossip) handleHello(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), helloTimeout)
	defer cancel()
	p := s.Conn().RemotePeer()
	raw, err := readFrame(bufio.NewReader(s), maxHello)
	if err != nil {
		g.log.Debug("hello read failed", "peer", p, "err", err)
		return
	}
	if err := g.writeHello(ctx, s); err != nil {
		g.log.Debug("hello write failed", "peer", p, "err", err)
	}
	if err := g.processHello(ctx, p, raw, s.Conn()); err != nil {
		g.log.Debug("hello refused", "peer", p, "err", err)
	}
}

func (g *Gossip) writeHello(ctx context.Context, w io.Writer) error {
	raw, err := g.cfg.Self.NodeRecord(ctx)
	if err != nil {
		return err
	}
	return writeFrame(w, raw)
}

// processHello checks that the record is the connecting peer's own node
// record and hands it to the sink, which applies it (a member) or notes
// the peer as pending.
func (g *Gossip) processHello(ctx context.Context, p peer.ID, raw []byte, conn network.Conn) error {
	remote := conn.RemoteMultiaddr().String()
	id := record.NodeID(p.String())
	refuse := func(env *record.Envelope, reason record.Reason, detail string) {
		g.cfg.Sink.Refused(ctx, Refusal{Env: env, Reason: reason, Detail: detail, Channel: ViaHello, From: id})
	}
	env, err := record.Open(raw)
	if err != nil {
		refuse(nil, record.ReasonOf(err), err.Error())
		return err
	}
	if env.Kind != record.KindNode || env.AuthorID() != id {
		err := fmt.Errorf("hello carries a %s record by %s", env.Kind, env.AuthorID().Short())
		refuse(env, record.ReasonNotAllowed, err.Error())
		return err
	}
	body, err := record.DecodeNode(env.Body)
	if err != nil {
		refuse(env, record.ReasonOf(err), err.Error())
		return err
	}
	member, err := g.cfg.Sink.Hello(ctx, env, body, remote, sourceOf(remote))
	if err != nil {
		return err
	}
	if !member {
		g.log.Debug("pending node connected", "node", id, "hostname", body.Hostname, "addr", remote)
		return nil
	}
	g.restarted(p, body.StartedAt, conn)
	_ = g.ref.Cast(heard{id: id})
	g.cfg.Events.Pull(id)
	return nil
}

// sourceOf is the address part of a multiaddr (an IP, or the whole
// multiaddr when it has none), what remote limits count by.
func sourceOf(addr string) string {
	a, err := ma.NewMultiaddr(addr)
	if err != nil {
		return addr
	}
	if ip, err := manet.ToIP(a); err == nil {
		return ip.String()
	}
	return addr
}

func writeFrame(w io.Writer, b []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(b)+4), uint64(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

// readFrame reads one length-prefixed frame, checking the length against
// max before allocating.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("frame of %d bytes, at most %d", n, max)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
