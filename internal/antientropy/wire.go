package antientropy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/record"
)

// Protocol is the anti-entropy stream protocol.
const Protocol protocol.ID = "/credmesh/sync/1"

// Frame types.
const (
	frameHello  = 'H' // client: index ID it knows for the server, since
	frameList   = 'L' // server: its index ID, max and last log seq, more, IDs
	frameWant   = 'W' // client: IDs it lacks
	frameRecord = 'R' // server: one record's raw bytes
	frameEnd    = 'E' // server: end of the records for a Want
	frameDone   = 'D' // client: finished
	frameError  = 'X' // server: refusal, a message
)

// Limits, checked before allocating.
const (
	maxPageIDs  = 4096 // IDs per list page
	maxWantIDs  = 256  // IDs per want
	maxIndexID  = 64
	maxErrorMsg = 256
	maxFrame    = record.MaxEnvelope + 64
)

var errProtocol = errors.New("anti-entropy protocol error")

// frame is one decoded frame.
type frame struct {
	typ     byte
	payload []byte
}

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	buf := make([]byte, 0, 1+binary.MaxVarintLen64+len(payload))
	buf = append(buf, typ)
	buf = binary.AppendUvarint(buf, uint64(len(payload)))
	_, err := w.Write(append(buf, payload...))
	return err
}

func readFrame(r *bufio.Reader) (frame, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return frame{}, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return frame{}, err
	}
	if n > maxFrame {
		return frame{}, fmt.Errorf("%w: frame of %d bytes, at most %d", errProtocol, n, maxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return frame{}, err
	}
	return frame{typ: typ, payload: p}, nil
}

// hello is the client's request for the log after since.
type hello struct {
	indexID []byte
	since   uint64
}

func (h hello) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(len(h.indexID)))
	b = append(b, h.indexID...)
	return binary.AppendUvarint(b, h.since)
}

func decodeHello(p []byte) (hello, error) {
	var h hello
	bad := fmt.Errorf("%w: bad hello", errProtocol)
	n, p, ok := uvarint(p)
	if !ok || n > maxIndexID || uint64(len(p)) < n {
		return h, bad
	}
	h.indexID, p = p[:n], p[n:]
	if h.since, p, ok = uvarint(p); !ok || len(p) != 0 {
		return h, bad
	}
	return h, nil
}

// list is one page of the server's log.
type list struct {
	indexID []byte
	maxSeq  uint64
	last    uint64
	more    bool
	ids     []record.ID
}

func (l list) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(len(l.indexID)))
	b = append(b, l.indexID...)
	b = binary.AppendUvarint(b, l.maxSeq)
	b = binary.AppendUvarint(b, l.last)
	if l.more {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(l.ids)))
	for _, id := range l.ids {
		b = append(b, id[:]...)
	}
	return b
}

func decodeList(p []byte) (list, error) {
	var l list
	bad := fmt.Errorf("%w: bad list", errProtocol)
	n, p, ok := uvarint(p)
	if !ok || n > maxIndexID || uint64(len(p)) < n {
		return l, bad
	}
	l.indexID, p = p[:n], p[n:]
	if l.maxSeq, p, ok = uvarint(p); !ok {
		return l, bad
	}
	if l.last, p, ok = uvarint(p); !ok {
		return l, bad
	}
	if len(p) < 1 || p[0] > 1 {
		return l, bad
	}
	l.more, p = p[0] == 1, p[1:]
	var count uint64
	if count, p, ok = uvarint(p); !ok || count > maxPageIDs || uint64(len(p)) != count*32 {
		return l, bad
	}
	l.ids = decodeIDs(p)
	return l, nil
}

func encodeIDs(ids []record.ID) []byte {
	b := binary.AppendUvarint(nil, uint64(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b
}

func decodeWant(p []byte) ([]record.ID, error) {
	count, p, ok := uvarint(p)
	if !ok || count > maxWantIDs || uint64(len(p)) != count*32 {
		return nil, fmt.Errorf("%w: bad want", errProtocol)
	}
	return decodeIDs(p), nil
}

func decodeIDs(p []byte) []record.ID {
	ids := make([]record.ID, len(p)/32)
	for i := range ids {
		copy(ids[i][:], p[i*32:])
	}
	return ids
}

// uvarint reads a minimally encoded uvarint.
func uvarint(p []byte) (uint64, []byte, bool) {
	v, k := binary.Uvarint(p)
	if k <= 0 || k != len(binary.AppendUvarint(nil, v)) {
		return 0, p, false
	}
	return v, p[k:], true
}
