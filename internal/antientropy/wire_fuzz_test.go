package antientropy

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/credmesh/credmesh/internal/record"
)

// FuzzFrames feeds the frame reader and every payload decoder; decoded
// values must re-encode to the same payload.
func FuzzFrames(f *testing.F) {
	var buf bytes.Buffer
	_ = writeFrame(&buf, frameHello, hello{indexID: []byte("idx"), since: 7}.encode())
	f.Add(buf.Bytes())
	buf.Reset()
	_ = writeFrame(&buf, frameList, list{indexID: []byte("idx"), maxSeq: 9, last: 9, ids: []record.ID{{1}, {2}}}.encode())
	f.Add(buf.Bytes())
	buf.Reset()
	_ = writeFrame(&buf, frameWant, encodeIDs([]record.ID{{3}}))
	f.Add(buf.Bytes())
	f.Add([]byte{frameRecord, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := readFrame(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		switch fr.typ {
		case frameHello:
			if h, err := decodeHello(fr.payload); err == nil && !bytes.Equal(h.encode(), fr.payload) {
				t.Fatalf("hello %x re-encodes as %x", fr.payload, h.encode())
			}
		case frameList:
			if l, err := decodeList(fr.payload); err == nil && len(l.ids) > maxPageIDs {
				t.Fatalf("list of %d IDs accepted", len(l.ids))
			}
		case frameWant:
			if ids, err := decodeWant(fr.payload); err == nil && !bytes.Equal(encodeIDs(ids), fr.payload) {
				t.Fatalf("want %x re-encodes differently", fr.payload)
			}
		}
	})
}
