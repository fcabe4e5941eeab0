package record

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.UnixMilli(1_800_000_000_000)

func newKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func mustSeal(t testing.TB, k ed25519.PrivateKey, kind Kind, seq uint64, at time.Time, body []byte) *Envelope {
	t.Helper()
	e, err := Seal(k, kind, seq, at, body)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sampleNode() Node {
	return Node{Hostname: "web-1", AgeRecipient: "age1qqqq", Addrs: []string{"/ip4/10.0.0.1/tcp/7101", "/ip4/10.0.0.1/udp/7101/quic-v1"},
		AgentVersion: "v1.0.0", StartedAt: t0}
}

func sampleSysinfo() Sysinfo {
	return Sysinfo{CollectedAt: t0, Uptime: 3600 * time.Second, Load1: 1500, Load5: 700, Load15: 20,
		MemTotal: 8 << 30, MemUsed: 3 << 30, MemAvailable: 5 << 30,
		Disks:      []Disk{{Mountpoint: "/", FSType: "ext4", Total: 100 << 30, Used: 40 << 30, Free: 60 << 30}},
		Interfaces: []Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", Up: true, Addrs: []string{"10.0.0.1/24", "fe80::1/64"}}}}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	k := newKey(t, 1)
	body := sampleNode().Encode()
	e := mustSeal(t, k, KindNode, 42, t0, body)
	got, err := Open(append([]byte(nil), e.Raw()...))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindNode || got.Seq != 42 || !got.Time.Equal(t0) || !bytes.Equal(got.Body, body) ||
		got.ID() != e.ID() || got.AuthorID() != NodeIDOf(k.Public().(ed25519.PublicKey)) {
		t.Fatalf("Open(Seal()) = %+v", got)
	}
	// ed25519 is deterministic: the same content gives the same record ID.
	if again := mustSeal(t, k, KindNode, 42, t0, body); again.ID() != e.ID() {
		t.Fatal("sealing the same content twice gave two IDs")
	}
	n, err := DecodeNode(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleNode(), n); diff != "" {
		t.Fatalf("node body (-want +got):\n%s", diff)
	}
}

// Any single bit flipped anywhere in an envelope makes it fail to open:
// the signature covers every field.
func TestEveryBitIsSigned(t *testing.T) {
	e := mustSeal(t, newKey(t, 1), KindSysinfo, 7, t0, sampleSysinfo().Encode())
	raw := e.Raw()
	for i := range raw {
		for bit := range 8 {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			if _, err := Open(b); err == nil {
				t.Fatalf("flipping bit %d of byte %d still opens", bit, i)
			}
		}
	}
}

func TestOpenRejects(t *testing.T) {
	k, other := newKey(t, 1), newKey(t, 2)
	good := mustSeal(t, k, KindHeartbeat, 1, t0, Heartbeat{LatestSeq: 1, Interval: 10 * time.Second}.Encode()).Raw()
	wrongSigner := append([]byte(nil), good...)
	copy(wrongSigner[2:], other.Public().(ed25519.PublicKey)) // claim another author
	unsigned := append([]byte(nil), good[:len(good)-64]...)
	unsigned = append(unsigned, make([]byte, 64)...)
	for _, tc := range []struct {
		name string
		raw  []byte
		want Reason
	}{
		{"empty", nil, ReasonMalformed},
		{"oversized", make([]byte, MaxEnvelope+1), ReasonOversized},
		{"version 2", append([]byte{2}, good[1:]...), ReasonBadVersion},
		{"unknown kind", append([]byte{1, 99}, good[2:]...), ReasonUnknownKind},
		{"unsigned", unsigned, ReasonBadSig},
		{"wrong signer", wrongSigner, ReasonBadSig},
		{"trailing byte", append(append([]byte(nil), good[:len(good)-64]...), append([]byte{0}, good[len(good)-64:]...)...), ReasonMalformed},
		{"truncated", good[:len(good)-1], ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.raw)
			if got := ReasonOf(err); err == nil || got != tc.want {
				t.Fatalf("Open = %v (reason %s), want reason %s", err, got, tc.want)
			}
		})
	}
	if _, err := Seal(k, KindHeartbeat, 1, t0, make([]byte, 1024)); err == nil {
		t.Error("Seal accepted a body over the kind's cap")
	}
}

func TestCheckTime(t *testing.T) {
	k := newKey(t, 1)
	now := t0
	for _, tc := range []struct {
		name string
		kind Kind
		at   time.Time
		ok   bool
	}{
		{"record now", KindNode, now, true},
		{"record a year old", KindNode, now.Add(-365 * 24 * time.Hour), true},
		{"record just inside the bound", KindNode, now.Add(MaxSkew), true},
		{"record from the future", KindNode, now.Add(MaxSkew + time.Millisecond), false},
		{"heartbeat now", KindHeartbeat, now, true},
		{"heartbeat too old", KindHeartbeat, now.Add(-MaxSkew - time.Second), false},
		{"heartbeat from the future", KindHeartbeat, now.Add(MaxSkew + time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := sampleNode().Encode()
			if tc.kind == KindHeartbeat {
				body = Heartbeat{1, time.Second}.Encode()
			}
			err := CheckTime(mustSeal(t, k, tc.kind, 1, tc.at, body), now)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckTime = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && ReasonOf(err) != ReasonSkew {
				t.Fatalf("reason %s, want clock_skew", ReasonOf(err))
			}
		})
	}
}

func TestBodiesRoundTrip(t *testing.T) {
	sub := newKey(t, 9).Public().(ed25519.PublicKey)
	pin := []ID{{1}, {2, 3}}
	for _, tc := range []struct {
		name   string
		enc    []byte
		decode func([]byte) (any, error)
		want   any
		legacy int // length of a prefix that is the format before roles and pins
	}{
		{"node", sampleNode().Encode(), func(b []byte) (any, error) { return DecodeNode(b) }, sampleNode(), -1},
		{"empty node", Node{StartedAt: time.UnixMilli(0)}.Encode(), func(b []byte) (any, error) { return DecodeNode(b) }, Node{StartedAt: time.UnixMilli(0)}, -1},
		{"sysinfo", sampleSysinfo().Encode(), func(b []byte) (any, error) { return DecodeSysinfo(b) }, sampleSysinfo(), -1},
		{"admit", Admit{Subject: sub, Source: AdmitTicket, Addrs: []string{"/ip4/1.2.3.4/tcp/1"}, Role: RoleNode}.Encode(), func(b []byte) (any, error) { return DecodeAdmit(b) },
			Admit{Subject: sub, Source: AdmitTicket, Addrs: []string{"/ip4/1.2.3.4/tcp/1"}, Role: RoleNode}, 32 + 7 + 1 + 19},
		{"demotion", Admit{Subject: sub, Source: AdmitRole, Role: RoleNode, Pin: pin}.Encode(), func(b []byte) (any, error) { return DecodeAdmit(b) },
			Admit{Subject: sub, Source: AdmitRole, Role: RoleNode, Pin: pin}, 32 + 5 + 1},
		{"revoke", Revoke{Subject: sub, Reason: "lost laptop", Pin: pin}.Encode(), func(b []byte) (any, error) { return DecodeRevoke(b) },
			Revoke{Subject: sub, Reason: "lost laptop", Pin: pin}, 32 + 12},
		{"heartbeat", Heartbeat{LatestSeq: 99, Interval: 10 * time.Second}.Encode(), func(b []byte) (any, error) { return DecodeHeartbeat(b) }, Heartbeat{99, 10 * time.Second}, -1},
		{"leaving", Leaving{}.Encode(), func(b []byte) (any, error) { return DecodeLeaving(b) }, Leaving{}, -1},
		{"sync request", SyncRequest{Target: sub}.Encode(), func(b []byte) (any, error) { return DecodeSyncRequest(b) }, SyncRequest{Target: sub}, -1},
		{"receipt", Receipt{Name: "db", Version: 3, Secret: ID{9}, State: ReceiptWritten, At: t0}.Encode(),
			func(b []byte) (any, error) { return DecodeReceipt(b) }, Receipt{Name: "db", Version: 3, Secret: ID{9}, State: ReceiptWritten, At: t0}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.decode(tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// Every strict prefix fails (but the one in the old format),
			// and so does one extra byte.
			for i := range tc.enc {
				if _, err := tc.decode(tc.enc[:i]); err == nil && i != tc.legacy {
					t.Fatalf("prefix of %d/%d bytes decoded", i, len(tc.enc))
				}
			}
			if _, err := tc.decode(append(append([]byte(nil), tc.enc...), 0)); err == nil {
				t.Fatal("a trailing byte was accepted")
			}
		})
	}
}

func TestLegacyMembershipRecords(t *testing.T) {
	sub := newKey(t, 9).Public().(ed25519.PublicKey)
	// The formats before roles and pins: an admit ends after its
	// addresses, a revoke after its reason.
	var w writer
	w.fixed(sub)
	w.str(AdmitTicket)
	w.uvarint(0)
	a, err := DecodeAdmit(w.b)
	if err != nil || a.Role != RoleAdmin || !a.Legacy {
		t.Fatalf("legacy admit: %+v, %v (want an admin admit)", a, err)
	}
	w = writer{}
	w.fixed(sub)
	w.str("old")
	r, err := DecodeRevoke(w.b)
	if err != nil || r.Pin != nil || !r.Legacy {
		t.Fatalf("legacy revoke: %+v, %v", r, err)
	}
	// A pin out of order or repeated is malformed (one encoding per set).
	for _, bad := range [][]ID{{{2}, {1}}, {{1}, {1}}} {
		if _, err := DecodeRevoke(Revoke{Subject: sub, Pin: bad}.Encode()); ReasonOf(err) != ReasonMalformed {
			t.Errorf("pin %v: %v", bad, err)
		}
	}
	if _, err := DecodeAdmit(Admit{Subject: sub, Source: AdmitTicket, Role: 3}.Encode()); ReasonOf(err) != ReasonMalformed {
		t.Errorf("role 3: %v", err)
	}
}

func TestStringsAreSafe(t *testing.T) {
	for _, host := range []string{"a\x00b", "bell\a", "\xff\xfe", "esc\x1b[31m", "del\x7f", "c1\u0085"} {
		n := sampleNode()
		n.Hostname = host
		if _, err := DecodeNode(n.Encode()); err == nil {
			t.Errorf("hostname %q accepted", host)
		}
	}
	n := sampleNode()
	n.Hostname = "<script>alert(1)</script>"
	if _, err := DecodeNode(n.Encode()); err != nil {
		t.Errorf("printable hostname refused: %v (escaping is the renderer's job)", err)
	}
	n.Hostname = strings.Repeat("h", MaxHostname+1)
	if _, err := DecodeNode(n.Encode()); err == nil {
		t.Error("over-long hostname accepted")
	}
}

func TestNonMinimalVarintRefused(t *testing.T) {
	// Heartbeat{LatestSeq: 1}: 0x01 encoded as 0x81 0x00 instead.
	if _, err := DecodeHeartbeat([]byte{0x81, 0x00, 0x0a}); err == nil {
		t.Fatal("non-minimal varint accepted")
	}
}

func TestNodeIDRoundTrip(t *testing.T) {
	pub := newKey(t, 3).Public().(ed25519.PublicKey)
	id := NodeIDOf(pub)
	if !strings.HasPrefix(string(id), "12D3KooW") {
		t.Fatalf("NodeIDOf = %s, want a 12D3KooW... peer ID", id)
	}
	back, err := PublicKeyOf(id)
	if err != nil || !bytes.Equal(back, pub) {
		t.Fatalf("PublicKeyOf = %x, %v", back, err)
	}
	for _, bad := range []string{"", "0OIl", "12D3KooW", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"} {
		if _, err := PublicKeyOf(NodeID(bad)); err == nil {
			t.Errorf("PublicKeyOf(%q) succeeded", bad)
		}
	}
}

func TestNextSeq(t *testing.T) {
	if got := NextSeq(0, t0); got != uint64(t0.UnixMilli()) {
		t.Errorf("NextSeq after a wipe = %d, want the clock %d", got, t0.UnixMilli())
	}
	if got := NextSeq(uint64(t0.UnixMilli())+10, t0); got != uint64(t0.UnixMilli())+11 {
		t.Errorf("NextSeq when last is ahead of the clock = %d", got)
	}
	// A wiped database: the last sequence is lost, the clock moved on.
	before := NextSeq(NextSeq(0, t0), t0)
	if after := NextSeq(0, t0.Add(time.Millisecond)); after <= before-1 {
		t.Errorf("sequence after wipe %d not above %d", after, before-1)
	}
}

// Property: applying any interleaving (with replays) of one author's
// latest-by-sequence records to replicas leaves every replica holding the
// record with the highest sequence, and replays change nothing.
func TestAcceptLatestConverges(t *testing.T) {
	k := newKey(t, 5)
	var recs []*Envelope
	for i := range 8 {
		s := sampleSysinfo()
		s.Load1 = uint64(i)
		recs = append(recs, mustSeal(t, k, KindSysinfo, uint64(100+i*3), t0, s.Encode()))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		order := append([]*Envelope(nil), recs...)
		for range 5 { // replays
			order = append(order, recs[rng.IntN(len(recs))])
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var cur Stored
		for _, e := range order {
			err := AcceptLatest(e, cur)
			switch {
			case err == nil:
				if cur.Has && e.Seq <= cur.Seq {
					t.Fatalf("trial %d: accepted seq %d over %d", trial, e.Seq, cur.Seq)
				}
				cur = Stored{Has: true, Seq: e.Seq, ID: e.ID()}
			case errors.Is(err, ErrDuplicate):
				if e.ID() != cur.ID {
					t.Fatalf("trial %d: duplicate of a record not held", trial)
				}
			default:
				if ReasonOf(err) != ReasonStale || e.Seq > cur.Seq {
					t.Fatalf("trial %d: %v for seq %d (have %d)", trial, err, e.Seq, cur.Seq)
				}
			}
		}
		if cur.ID != recs[len(recs)-1].ID() {
			t.Fatalf("trial %d: ended on seq %d, want the highest", trial, cur.Seq)
		}
	}
}

func TestTruncateText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"héllo", 2, "h"}, // é is two bytes: not split
		{"héllo", 3, "hé"},
		{"日本語", 4, "日"},          // three bytes each
		{"a\x00b\nc", 10, "abc"}, // control characters dropped
		{"bad\xffutf8", 10, "badutf8"},
	} {
		got := TruncateText(tc.in, tc.n)
		if got != tc.want || len(got) > tc.n || printable(got) != nil {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
