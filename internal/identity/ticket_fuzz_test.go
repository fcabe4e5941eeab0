package identity

import (
	"crypto/sha256"
	"testing"
)

// FuzzParseTicket: any string either fails to parse with ErrBadTicket or
// parses to a ticket whose canonical string is the input itself.
func FuzzParseTicket(f *testing.F) {
	// More seeds are committed under testdata/fuzz/FuzzParseTicket.
	f.Add("")
	f.Add(TicketPrefix)
	f.Add(TicketPrefix + "aaaa")
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := ParseTicket(s)
		if err != nil {
			return
		}
		if got := tk.String(); got != trimSpace(s) {
			t.Fatalf("ParseTicket(%q) then String() = %q", s, got)
		}
	})
}

// FuzzTicketBinary fuzzes the binary layout behind the base32 and the
// checksum, which random strings almost never get through.
func FuzzTicketBinary(f *testing.F) {
	f.Add([]byte{ticketFormat, kindTicket})
	f.Add(append(append([]byte{ticketFormat, kindInvite}, make([]byte, 32)...), 0))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > MaxTicketLen {
			return
		}
		sum := sha256.Sum256(body)
		s := TicketPrefix + b32.EncodeToString(append(body, sum[:4]...))
		tk, err := ParseTicket(s)
		if err != nil {
			return
		}
		if got := tk.String(); got != s {
			t.Fatalf("binary %x parsed but String() = %q, want %q", body, got, s)
		}
	})
}

func trimSpace(s string) string {
	// Same white space rule as ParseTicket.
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	return s[start:end]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
