package antientropy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/crashpoint"
	"github.com/credmesh/credmesh/internal/record"
)

// PullStats measures one pull.
type PullStats struct {
	Peer       record.NodeID
	RoundTrips int   // request/response exchanges
	BytesOut   int64 // bytes written on the stream
	BytesIn    int64 // bytes read from the stream
	Listed     int   // IDs the peer listed
	Fetched    int   // records received
	Accepted   int   // records stored
	Duration   time.Duration
}

// applyBatch is how many received records are applied per transaction.
const applyBatch = 256

// maxUnasked is how many records beyond those asked for a pull tolerates
// (each refused and audited) before it hangs up.
const maxUnasked = 16

// pull reconciles with one member: list its log after our cursor, fetch
// what is missing, apply it, advance the cursor.
func (a *AntiEntropy) pull(ctx context.Context, id record.NodeID) (st PullStats, err error) {
	st.Peer = id
	begin := time.Now()
	defer func() { st.Duration = time.Since(begin) }()
	p, err := peer.Decode(string(id))
	if err != nil {
		return st, err
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	s, err := a.cfg.Host().NewStream(ctx, p, Protocol)
	if err != nil {
		return st, fmt.Errorf("open sync stream: %w", err)
	}
	defer s.Close()
	// The exchange may take streamTimeout in all, but it fails after
	// idleTimeout without a byte either way: a pull on a connection whose
	// peer died (it restarts on a new one) must not hold the next pull
	// from that peer for the transport's own idle timeout.
	end := time.Now().Add(streamTimeout)
	idle := &idleStream{s: s, end: end}
	cr := &countingReader{r: idle}
	cw := &countingWriter{w: idle}
	defer func() { st.BytesIn, st.BytesOut = cr.n, cw.n }()
	r, w := bufio.NewReader(cr), bufio.NewWriter(cw)

	index, since, err := a.cfg.Cursors.Cursor(ctx, id)
	if err != nil {
		return st, err
	}
	for {
		if err := writeFrame(w, frameHello, hello{indexID: index, since: since}.encode()); err != nil {
			return st, err
		}
		if err := w.Flush(); err != nil {
			return st, err
		}
		f, err := readFrame(r)
		if err != nil {
			return st, err
		}
		st.RoundTrips++
		if f.typ == frameError {
			return st, fmt.Errorf("peer refused: %.*s", maxErrorMsg, f.payload)
		}
		if f.typ != frameList {
			return st, fmt.Errorf("%w: expected a list, got %q", errProtocol, f.typ)
		}
		l, err := decodeList(f.payload)
		if err != nil {
			return st, err
		}
		if !bytes.Equal(l.indexID, index) {
			index = append([]byte(nil), l.indexID...)
		}
		st.Listed += len(l.ids)
		missing, err := a.cfg.Records.Missing(ctx, l.ids)
		if err != nil {
			return st, err
		}
		for len(missing) > 0 {
			chunk := missing[:min(len(missing), maxWantIDs)]
			missing = missing[len(chunk):]
			n, acc, err := a.fetch(ctx, r, w, chunk, id)
			st.RoundTrips++
			st.Fetched += n
			st.Accepted += acc
			if err != nil {
				return st, err
			}
		}
		since = l.last
		if err := a.cfg.Cursors.SetCursor(ctx, id, index, since); err != nil {
			return st, err
		}
		if !l.more {
			break
		}
	}
	if err := writeFrame(w, frameDone, nil); err != nil {
		return st, err
	}
	return st, w.Flush()
}

// fetch asks for ids and applies the records as they arrive, in batches.
func (a *AntiEntropy) fetch(ctx context.Context, r *bufio.Reader, w *bufio.Writer, ids []record.ID, peer record.NodeID) (fetched, accepted int, err error) {
	if err := writeFrame(w, frameWant, encodeIDs(ids)); err != nil {
		return 0, 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	want := make(map[record.ID]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var batch []*record.Envelope
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := a.cfg.Replica.Pulled(ctx, batch, peer)
		accepted += n
		batch = batch[:0]
		crashpoint.Here(crashpoint.AntiEntropyMidPull)
		return err
	}
	for {
		f, err := readFrame(r)
		if err != nil {
			return fetched, accepted, err
		}
		switch f.typ {
		case frameRecord:
			fetched++
			if fetched > len(ids)+maxUnasked {
				// A peer that keeps sending: keep what came, then hang up.
				ferr := flush()
				return fetched, accepted, errors.Join(fmt.Errorf("%w: far more records than asked for", errProtocol), ferr)
			}
			env, err := record.Open(f.payload)
			if err != nil || !want[env.ID()] {
				a.rejectUnasked(ctx, env, err, peer)
				continue
			}
			delete(want, env.ID()) // a second copy is not asked for either
			batch = append(batch, env)
			if len(batch) >= applyBatch {
				if err := flush(); err != nil {
					return fetched, accepted, err
				}
			}
		case frameEnd:
			return fetched, accepted, flush()
		default:
			return fetched, accepted, fmt.Errorf("%w: unexpected frame %q", errProtocol, f.typ)
		}
	}
}

// idleTimeout bounds a silence in one sync exchange.
const idleTimeout = 10 * time.Second

// idleStream pushes a stream's deadline idleTimeout ahead (never past
// end) before every read and write.
type idleStream struct {
	s interface {
		io.ReadWriter
		SetDeadline(time.Time) error
	}
	end time.Time
}

func (i *idleStream) bump() {
	d := time.Now().Add(idleTimeout)
	if d.After(i.end) {
		d = i.end
	}
	_ = i.s.SetDeadline(d)
}

func (i *idleStream) Read(p []byte) (int, error)  { i.bump(); return i.s.Read(p) }
func (i *idleStream) Write(p []byte) (int, error) { i.bump(); return i.s.Write(p) }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
