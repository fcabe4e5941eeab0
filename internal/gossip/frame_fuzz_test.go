package gossip

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzReadFrame feeds the hello and invite streams' framing any bytes:
// a frame over the cap is refused before anything is allocated for it,
// and what is returned is exactly what the length said.
func FuzzReadFrame(f *testing.F) {
	f.Add(uint16(maxHello), binary.AppendUvarint(nil, 3), []byte("abc"))
	f.Add(uint16(32), binary.AppendUvarint(nil, 1<<62), []byte{})
	f.Add(uint16(512), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{})
	f.Add(uint16(0), []byte{0}, []byte{})
	f.Fuzz(func(t *testing.T, max uint16, prefix, rest []byte) {
		in := append(append([]byte(nil), prefix...), rest...)
		b, err := readFrame(bufio.NewReader(bytes.NewReader(in)), int(max))
		if err != nil {
			return
		}
		if len(b) > int(max) {
			t.Fatalf("a %d-byte frame passed a cap of %d", len(b), max)
		}
		n, k := binary.Uvarint(in)
		if k <= 0 || n != uint64(len(b)) || !bytes.Equal(b, in[k:k+len(b)]) {
			t.Fatalf("frame %q from %q", b, in)
		}
	})
}
