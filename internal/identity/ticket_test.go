package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ma "github.com/multiformats/go-multiaddr"
)

func testIdentity(t *testing.T) *Identity {
	t.Helper()
	id, _, err := LoadOrCreate(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addrs(t *testing.T, ss ...string) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func ticketStrings(t Ticket) []string {
	var out []string
	for _, a := range t.Addrs {
		out = append(out, a.String())
	}
	return out
}

func TestTicketRoundTrip(t *testing.T) {
	id := testIdentity(t)
	for _, tc := range []struct {
		name string
		tk   Ticket
	}{
		{"no addresses", Ticket{PublicKey: id.PublicKey()}},
		{"quic and tcp", NewTicket(id, addrs(t, "/ip4/127.0.0.1/udp/7101/quic-v1", "/ip4/192.168.1.5/tcp/7101"))},
		{"ipv6 and dns", NewTicket(id, addrs(t, "/ip6/::1/tcp/7101", "/dns4/node.example/tcp/7101"))},
		{"invite", Ticket{PublicKey: id.PublicKey(), Addrs: addrs(t, "/ip4/10.0.0.1/tcp/7101"),
			Token: bytes.Repeat([]byte{7}, TokenSize), Expires: now.Add(24 * time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.tk.String()
			if !strings.HasPrefix(s, TicketPrefix) {
				t.Fatalf("ticket %q lacks the prefix", s)
			}
			got, err := ParseTicket(s)
			if err != nil {
				t.Fatalf("ParseTicket(%q): %v", s, err)
			}
			if got.String() != s {
				t.Fatalf("round trip changed the string:\n got %s\nwant %s", got.String(), s)
			}
			if diff := cmp.Diff(ticketStrings(tc.tk), ticketStrings(got)); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if !bytes.Equal(got.PublicKey, tc.tk.PublicKey) || !bytes.Equal(got.Token, tc.tk.Token) ||
				!got.Expires.Equal(tc.tk.Expires) || got.IsInvite() != tc.tk.IsInvite() {
				t.Errorf("got %+v, want %+v", got, tc.tk)
			}
			nodeID, err := got.NodeID()
			if err != nil || nodeID != id.NodeID {
				t.Errorf("NodeID = %s, %v; want %s", nodeID, err, id.NodeID)
			}
			// Surrounding white space (a pasted newline) is fine.
			if _, err := ParseTicket("  " + s + "\n"); err != nil {
				t.Errorf("ParseTicket with white space: %v", err)
			}
		})
	}
}

func TestParseTicketErrors(t *testing.T) {
	id := testIdentity(t)
	good := NewTicket(id, addrs(t, "/ip4/127.0.0.1/tcp/7101")).String()
	body := strings.TrimPrefix(good, TicketPrefix)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "does not start with"},
		{"other prefix", "credmesh2" + body, "does not start with"},
		{"uppercase", strings.ToUpper(good), "does not start with"},
		{"uppercase body", TicketPrefix + strings.ToUpper(body), "not lowercase base32"},
		{"not base32", TicketPrefix + "!!!!", "not lowercase base32"},
		{"truncated", good[:len(good)-10], "checksum mismatch"},
		{"too short", TicketPrefix + "aaaa", "too short"},
		{"bit flip", flip(good, len(TicketPrefix)+20), "checksum mismatch"},
		{"too long", TicketPrefix + strings.Repeat("a", MaxTicketLen), "at most"},
		{"trailing", good + "aaaaaaaa", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTicket(tc.in)
			if !errors.Is(err, ErrBadTicket) {
				t.Fatalf("ParseTicket(%q) = %v, want ErrBadTicket", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
