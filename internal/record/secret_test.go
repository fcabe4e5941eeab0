package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "db-password", "A.b_c-9", "0", strings.Repeat("x", 128), "tls.key"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "_x", "../x", "a/b", "/etc/x", "a..b", "a\x00b", "é", "a b",
		strings.Repeat("x", 129), "x\n", "..", "a\\b", "a:b"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
}

// FuzzValidName: no accepted name can escape the directory it is joined
// to, or name anything but one plain file in it.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "../x", "/etc/x", "a/b", "a\x00b", "..", "a..b", "x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidName(name) != nil {
			return
		}
		dir := "/etc/credstore.encrypted"
		p := filepath.Join(dir, name)
		if filepath.Dir(p) != dir || filepath.Base(p) != name || strings.ContainsAny(name, "/\x00") {
			t.Fatalf("valid name %q escapes: %s", name, p)
		}
	})
}

func TestPadding(t *testing.T) {
	for _, n := range []int{0, 1, 100, 252, 253, 1000, 4096, 65536, 100000, MaxPlaintext} {
		p := pad(bytes.Repeat([]byte{0xaa}, n))
		if len(p) != PaddedSize(n) || len(p) < n+4 || len(p) < minPadded {
			t.Fatalf("pad(%d) = %d bytes", n, len(p))
		}
		if n > 1000 && float64(len(p)) > 1.12*float64(n+4) {
			t.Errorf("pad(%d) = %d bytes: more than 12%% overhead", n, len(p))
		}
		back, err := unpad(p)
		if err != nil || len(back) != n {
			t.Fatalf("unpad(pad(%d)) = %d, %v", n, len(back), err)
		}
	}
	// Lengths inside a bucket are indistinguishable.
	if PaddedSize(1) != PaddedSize(200) || PaddedSize(5000) != PaddedSize(5010) {
		t.Error("nearby lengths fall in different buckets")
	}
	for _, bad := range [][]byte{{0, 0, 1}, append([]byte{0, 0, 0, 9}, make([]byte, 251)...), append([]byte{0, 0, 0, 1, 7, 1}, make([]byte, 250)...)} {
		if _, err := unpad(bad); err == nil {
			t.Errorf("unpad(%x...) accepted", bad[:6])
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	target, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	for _, n := range []int{0, 1, 300, MaxPlaintext} {
		plain := make([]byte, n)
		_, _ = rand.Read(plain)
		ct, err := Encrypt(target.Recipient().String(), plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) > MaxCiphertext {
			t.Fatalf("%d bytes encrypt to %d, over MaxCiphertext %d", n, len(ct), MaxCiphertext)
		}
		got, err := Decrypt(target, ct)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
		if _, err := Decrypt(other, ct); err == nil {
			t.Fatal("another identity decrypted the secret")
		}
	}
	if _, err := Encrypt(target.Recipient().String(), make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Encrypt(1 MiB + 1) = %v, want ErrTooLarge", err)
	}
	// The largest secret still fits an envelope.
	ct, _ := Encrypt(target.Recipient().String(), make([]byte, MaxPlaintext))
	k := newKey(t, 1)
	s := Secret{Name: "big", Target: k.Public().(ed25519.PublicKey), Version: 1, CreatedAt: t0, Ciphertext: ct, Group: make([]byte, GroupSize)}
	if _, err := Seal(k, KindSecret, 1, t0, s.Encode()); err != nil {
		t.Fatalf("a 1 MiB secret does not fit an envelope: %v", err)
	}
}

func sampleSecret(t testing.TB) Secret {
	return Secret{Name: "db", Target: newKey(t, 7).Public().(ed25519.PublicKey), Version: 3, CreatedAt: t0,
		Ciphertext: append([]byte(ageIntro), make([]byte, 100)...), Restart: []string{"web.service", "app@1.service"},
		Group: bytes.Repeat([]byte{4}, GroupSize)}
}

func TestSecretBody(t *testing.T) {
	s := sampleSecret(t)
	got, err := DecodeSecret(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), s.Encode()) {
		t.Fatal("secret body does not round-trip")
	}
	tomb := s
	tomb.Ciphertext, tomb.Tombstone = nil, true
	if _, err := DecodeSecret(tomb.Encode()); err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	for name, mut := range map[string]func(*Secret){
		"traversal name":      func(s *Secret) { s.Name = "../x" },
		"absolute name":       func(s *Secret) { s.Name = "/etc/x" },
		"slash":               func(s *Secret) { s.Name = "a/b" },
		"NUL":                 func(s *Secret) { s.Name = "a\x00b" },
		"non-ASCII":           func(s *Secret) { s.Name = "pässword" },
		"version 0":           func(s *Secret) { s.Version = 0 },
		"far-future version":  func(s *Secret) { s.Version = MaxVersion + 1 },
		"tombstone with data": func(s *Secret) { s.Tombstone = true },
		"not age":             func(s *Secret) { s.Ciphertext = make([]byte, 100) },
		"bad unit":            func(s *Secret) { s.Restart = []string{"a b"} },
		"short group":         func(s *Secret) { s.Group = s.Group[:8] },
	} {
		b := sampleSecret(t)
		mut(&b)
		if _, err := DecodeSecret(b.Encode()); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func sv(id byte, author NodeID, version uint64, tomb bool) SecretVersion {
	return SecretVersion{ID: ID{id}, Author: author, Version: version, Tombstone: tomb}
}

func TestResolve(t *testing.T) {
	const target, alice, bob, carol NodeID = "target", "alice", "bob", "carol"
	for _, tc := range []struct {
		name    string
		vs      []SecretVersion
		current byte // ID of the current version, 0 for none
		creator NodeID
		invalid []byte
	}{
		{"nothing", nil, 0, "", nil},
		{"one version", []SecretVersion{sv(1, alice, 1, false)}, 1, alice, nil},
		{"updates by the author", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, false), sv(3, alice, 3, false)}, 3, alice, nil},
		{"update by the target", []SecretVersion{sv(1, alice, 1, false), sv(2, target, 2, false)}, 2, alice, nil},
		{"update by a third member", []SecretVersion{sv(1, alice, 1, false), sv(9, carol, 2, false)}, 1, alice, []byte{9}},
		{"tombstone by a third member", []SecretVersion{sv(1, alice, 1, false), sv(9, carol, 2, true)}, 1, alice, []byte{9}},
		{"later version before the first", []SecretVersion{sv(2, alice, 2, false)}, 0, "", nil},
		{"tombstone dominates lower", []SecretVersion{sv(1, alice, 1, false), sv(5, alice, 3, true), sv(4, alice, 2, false)}, 5, alice, nil},
		{"recreated after delete", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, true), sv(3, target, 3, false)}, 3, alice, nil},
		{"author and target race", []SecretVersion{sv(1, alice, 1, false), sv(7, alice, 2, false), sv(8, target, 2, false)}, 8, alice, nil},
		{"creators race", []SecretVersion{sv(3, alice, 1, false), sv(4, bob, 1, false)}, 4, bob, []byte{3}},
		{"race loser's update", []SecretVersion{sv(3, alice, 1, false), sv(4, bob, 1, false), sv(5, alice, 2, false)}, 4, bob, []byte{3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Resolve(target, tc.vs)
			var cur byte
			if res.Current != nil {
				cur = res.Current.ID[0]
			}
			if cur != tc.current || res.Creator != tc.creator {
				t.Fatalf("current %d creator %q, want %d %q", cur, res.Creator, tc.current, tc.creator)
			}
			for _, id := range tc.invalid {
				if res.Valid[ID{id}] {
					t.Errorf("version %d counts, want refused", id)
				}
			}
		})
	}
}

// Property: replicas applying any interleaving (with replays) of the same
// versions end identical; the current version never goes down while the
// versions come from allowed writers of one creator; a tombstone
// dominates every lower version.
func TestResolveConverges(t *testing.T) {
	const target NodeID = "target"
	writers := []NodeID{"alice", target, "mallory"}
	rng := mrand.New(mrand.NewPCG(7, 8))
	for trial := range 500 {
		var vs []SecretVersion
		vs = append(vs, SecretVersion{ID: randID(rng), Author: "alice", Version: 1})
		for range rng.IntN(10) {
			vs = append(vs, SecretVersion{ID: randID(rng), Author: writers[rng.IntN(len(writers))],
				Version: 1 + uint64(rng.IntN(6)), Tombstone: rng.IntN(4) == 0})
		}
		honest := true
		for _, v := range vs[1:] {
			if v.Version == 1 {
				honest = false // a racing first version: the race rule applies
			}
		}
		var want *SecretVersion
		for r := range 4 {
			order := append([]SecretVersion(nil), vs...)
			for range 3 {
				order = append(order, vs[rng.IntN(len(vs))])
			}
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			var seen []SecretVersion
			var last uint64
			for _, v := range order {
				seen = append(seen, v)
				res := Resolve(target, seen)
				if res.Current != nil {
					if honest && res.Current.Version < last {
						t.Fatalf("trial %d: current went from %d down to %d", trial, last, res.Current.Version)
					}
					last = res.Current.Version
				}
			}
			final := Resolve(target, seen).Current
			if r == 0 {
				want = final
			} else if fmt.Sprint(final) != fmt.Sprint(want) {
				t.Fatalf("trial %d: replicas disagree: %v vs %v", trial, final, want)
			}
			if final != nil && final.Tombstone {
				for _, v := range seen {
					if Resolve(target, seen).Valid[v.ID] && v.Version > final.Version {
						t.Fatalf("trial %d: a higher version outranks the tombstone", trial)
					}
				}
			}
		}
	}
}

func randID(rng *mrand.Rand) ID {
	var id ID
	for i := range id {
		id[i] = byte(rng.IntN(256))
	}
	return id
}

func TestWriteRules(t *testing.T) {
	const target, alice, bob NodeID = "target", "alice", "bob"
	for _, tc := range []struct {
		name   string
		vs     []SecretVersion
		writer NodeID
		may    bool
		next   uint64
	}{
		{"new secret, anyone", nil, bob, true, 1},
		{"the author updates", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, false)}, alice, true, 3},
		{"the target updates", []SecretVersion{sv(1, alice, 1, false)}, target, true, 2},
		{"a third member may not", []SecretVersion{sv(1, alice, 1, false)}, bob, false, 2},
		{"first version missing: the target writes above what it has", []SecretVersion{sv(2, alice, 2, false), sv(3, alice, 3, true)}, target, true, 4},
		{"first version missing: no one else (a rival version 1)", []SecretVersion{sv(2, alice, 2, false)}, bob, false, 3},
		{"first version missing: not even its author, who cannot know", []SecretVersion{sv(2, alice, 2, false)}, alice, false, 3},
		{"refused versions do not raise the next", []SecretVersion{sv(1, alice, 1, false), sv(9, bob, MaxVersion, false)}, alice, true, 2},
		{"a deleted secret's next version", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, true)}, alice, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Resolve(target, tc.vs)
			if got := res.MayWrite(tc.writer, target); got != tc.may {
				t.Errorf("MayWrite(%s) = %v, want %v", tc.writer, got, tc.may)
			}
			if got := res.NextVersion(); got != tc.next {
				t.Errorf("NextVersion = %d, want %d", got, tc.next)
			}
		})
	}
}

// Property: the target writing from any partial view of the author's
// versions (version 1 perhaps not arrived yet) never takes the secret
// over and never lowers what the target's replica shows as current.
func TestTargetWriteFromPartialView(t *testing.T) {
	const target, alice NodeID = "target", "alice"
	rng := mrand.New(mrand.NewPCG(3, 4))
	for trial := range 1000 {
		var all []SecretVersion
		for v := range 1 + rng.IntN(6) {
			all = append(all, SecretVersion{ID: randID(rng), Author: alice, Version: uint64(v + 1), Tombstone: rng.IntN(4) == 0})
		}
		var view []SecretVersion
		for _, v := range all {
			if rng.IntN(2) == 0 {
				view = append(view, v)
			}
		}
		if len(view) == 0 {
			continue // knowing nothing, the target would not be updating
		}
		res := Resolve(target, view)
		if !res.MayWrite(target, target) {
			t.Fatalf("trial %d: the target may not write", trial)
		}
		mine := SecretVersion{ID: randID(rng), Author: target, Version: res.NextVersion()}
		for _, v := range view {
			if mine.Version <= v.Version {
				t.Fatalf("trial %d: the target writes v%d under v%d it holds", trial, mine.Version, v.Version)
			}
		}
		before := Resolve(target, view).Current
		after := Resolve(target, append(append([]SecretVersion(nil), view...), mine))
		if before != nil && (after.Current == nil || after.Current.Version < before.Version) {
			t.Fatalf("trial %d: the target's own write lowered its current version", trial)
		}
		final := Resolve(target, append(append([]SecretVersion(nil), all...), mine))
		if final.Creator != alice || !final.Valid[mine.ID] {
			t.Fatalf("trial %d: creator %q, the target's write counts: %v", trial, final.Creator, final.Valid[mine.ID])
		}
	}
}
