package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// errTruncated is what a reader reports when the input ends early.
var errTruncated = errors.New("truncated")

// errPinOrder is what a reader reports for a pin not in strictly
// increasing order.
var errPinOrder = errors.New("pin: record IDs not sorted or repeated")

// writer appends the binary encoding used by every body.
type writer struct{ b []byte }

func (w *writer) u8(v uint8)       { w.b = append(w.b, v) }
func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) fixed(p []byte)   { w.b = append(w.b, p...) }
func (w *writer) bytes(p []byte)   { w.uvarint(uint64(len(p))); w.b = append(w.b, p...) }
func (w *writer) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *writer) boolean(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// reader decodes what writer wrote. The first error sticks; every length
// is checked against its cap and the remaining input before use, and
// slices point into the input (no allocation).
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) u8(what string) uint8 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail(fmt.Errorf("%s: %w", what, errTruncated))
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) boolean(what string) bool {
	switch v := r.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail(fmt.Errorf("%s: %d is not a boolean", what, v))
		return false
	}
}

// uvarint reads a minimally encoded unsigned varint.
func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(fmt.Errorf("%s: bad varint", what))
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		r.fail(fmt.Errorf("%s: varint not minimally encoded", what))
		return 0
	}
	r.b = r.b[n:]
	return v
}

// maxMillis bounds times on the wire (about the year 287,000).
const maxMillis = 1 << 53

// millis reads a time as unix milliseconds.
func (r *reader) millis(what string) time.Time {
	v := r.uvarint(what)
	if r.err == nil && v > maxMillis {
		r.fail(fmt.Errorf("%s: %d out of range", what, v))
		return time.Time{}
	}
	return time.UnixMilli(int64(v))
}

// count reads a list length and checks it against max.
func (r *reader) count(what string, max int) int {
	n := r.uvarint(what)
	if r.err == nil && n > uint64(max) {
		r.fail(fmt.Errorf("%s: %d entries, at most %d", what, n, max))
		return 0
	}
	return int(n)
}

func (r *reader) fixed(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail(fmt.Errorf("%s: %w", what, errTruncated))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(what string, max int) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail(fmt.Errorf("%s: %d bytes, at most %d", what, n, max))
		return nil
	}
	return r.fixed(what, int(n))
}

// str reads a string of at most max bytes that is valid UTF-8 without
// control characters (so it is safe to print and to log).
func (r *reader) str(what string, max int) string {
	b := r.bytes(what, max)
	if r.err != nil {
		return ""
	}
	s := string(b)
	if err := printable(s); err != nil {
		r.fail(fmt.Errorf("%s: %v", what, err))
		return ""
	}
	return s
}

// done reports the first error, or an error when input is left over.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d unexpected trailing bytes", len(r.b))
	}
	return nil
}

// printable accepts valid UTF-8 without control characters.
func printable(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return fmt.Errorf("control character %U", c)
		}
	}
	return nil
}

// TruncateText makes s fit a record's text field of n bytes: it drops
// what printable refuses (invalid UTF-8, control characters) and cuts at
// a character boundary, never inside one.
func TruncateText(s string, n int) string {
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return -1
		}
		return c
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		cut = i
	}
	return s[:cut]
}
