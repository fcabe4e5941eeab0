package antientropy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/credmesh/credmesh/internal/record"
)

// streamTimeout bounds one whole exchange on either side.
const streamTimeout = 2 * time.Minute

// serve answers a member's pull: pages of log IDs, then the records it
// asks for. Nodes that are not members are refused.
func (a *AntiEntropy) serve(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := record.NodeID(s.Conn().RemotePeer().String())
	w := bufio.NewWriter(s)
	if !a.cfg.Replica.Members().IsMember(remote) {
		a.log.Debug("refused sync from a non-member", "node", remote)
		a.cfg.Replica.SyncRefused(context.Background(), remote)
		_ = writeFrame(w, frameError, []byte("not a member"))
		_ = w.Flush()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	if err := a.serveLoop(ctx, bufio.NewReader(s), w); err != nil {
		a.log.Debug("sync serve ended", "node", remote, "err", err)
		_ = s.Reset()
	}
}

func (a *AntiEntropy) serveLoop(ctx context.Context, r *bufio.Reader, w *bufio.Writer) error {
	index, err := a.cfg.Records.IndexID(ctx)
	if err != nil {
		return err
	}
	for {
		f, err := readFrame(r)
		if err != nil {
			return err
		}
		switch f.typ {
		case frameHello:
			h, err := decodeHello(f.payload)
			if err != nil {
				return err
			}
			since := h.since
			if !bytes.Equal(h.indexID, index) {
				since = 0 // the puller's cursor is for another log
			}
			page, err := a.cfg.Records.Since(ctx, since, maxPageIDs)
			if err != nil {
				return err
			}
			l := list{indexID: index, maxSeq: page.MaxSeq, last: page.Last, more: page.More, ids: page.IDs}
			if err := writeFrame(w, frameList, l.encode()); err != nil {
				return err
			}
		case frameWant:
			ids, err := decodeWant(f.payload)
			if err != nil {
				return err
			}
			raws, err := a.cfg.Records.Raw(ctx, ids)
			if err != nil {
				return err
			}
			for _, raw := range raws {
				if err := writeFrame(w, frameRecord, raw); err != nil {
					return err
				}
			}
			if err := writeFrame(w, frameEnd, nil); err != nil {
				return err
			}
		case frameDone:
			return w.Flush()
		default:
			return fmt.Errorf("%w: unexpected frame %q", errProtocol, f.typ)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
