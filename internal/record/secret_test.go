package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"slices"
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

// resolveMembers is a mesh where alice and admin2 are admins and bob,
// carol and the target plain nodes.
func resolveMembers() *Members {
	return NewMembers("alice", map[NodeID]Role{"alice": RoleAdmin, "admin2": RoleAdmin,
		"bob": RoleNode, "carol": RoleNode, "target": RoleNode}, nil, nil)
}

func TestResolve(t *testing.T) {
	const target, alice, bob, carol NodeID = "target", "alice", "bob", "carol"
	m := resolveMembers()
	for _, tc := range []struct {
		name    string
		vs      []SecretVersion
		current byte // ID of the current version, 0 for none
		first   NodeID
		invalid []byte
	}{
		{"nothing", nil, 0, "", nil},
		{"one version by an admin", []SecretVersion{sv(1, alice, 1, false)}, 1, alice, nil},
		{"the target's own secret", []SecretVersion{sv(1, target, 1, false)}, 1, target, nil},
		{"updates by an admin", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, false), sv(3, alice, 3, false)}, 3, alice, nil},
		{"update by the target", []SecretVersion{sv(1, alice, 1, false), sv(2, target, 2, false)}, 2, alice, nil},
		{"update by another admin", []SecretVersion{sv(1, alice, 1, false), sv(2, "admin2", 2, false)}, 2, alice, nil},
		{"update by a plain member", []SecretVersion{sv(1, alice, 1, false), sv(9, carol, 2, false)}, 1, alice, []byte{9}},
		{"tombstone by a plain member", []SecretVersion{sv(1, alice, 1, false), sv(9, carol, 2, true)}, 1, alice, []byte{9}},
		{"a plain member's rival version 1 with a higher ID", []SecretVersion{sv(1, alice, 1, false), sv(0xff, bob, 1, false)}, 1, alice, []byte{0xff}},
		{"a plain member's secret for another node", []SecretVersion{sv(1, bob, 1, false)}, 0, "", []byte{1}},
		{"later version before the first", []SecretVersion{sv(2, alice, 2, false)}, 2, alice, nil},
		{"tombstone dominates lower", []SecretVersion{sv(1, alice, 1, false), sv(5, alice, 3, true), sv(4, alice, 2, false)}, 5, alice, nil},
		{"recreated after delete", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, true), sv(3, target, 3, false)}, 3, alice, nil},
		{"admin and target race: higher record ID", []SecretVersion{sv(1, alice, 1, false), sv(7, alice, 2, false), sv(8, target, 2, false)}, 8, alice, nil},
		{"a jump past the step waits", []SecretVersion{sv(1, alice, 1, false), sv(2, target, 2+MaxVersionStep, false)}, 1, alice, []byte{2}},
		{"a jump within the step counts", []SecretVersion{sv(1, alice, 1, false), sv(2, target, 1+MaxVersionStep, false)}, 2, alice, nil},
		{"the ceiling waits", []SecretVersion{sv(1, alice, 1, false), sv(2, target, MaxVersion, false)}, 1, alice, []byte{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Resolve(target, tc.vs, m)
			var cur byte
			if res.Current != nil {
				cur = res.Current.ID[0]
			}
			if cur != tc.current || res.First != tc.first {
				t.Fatalf("current %d first %q, want %d %q", cur, res.First, tc.current, tc.first)
			}
			for _, id := range tc.invalid {
				if res.Valid[ID{id}] {
					t.Errorf("version %d counts, want refused", id)
				}
			}
		})
	}
}

// Property: for random sets of versions from admins, the target and
// hostile plain members, delivered in random orders with replays, every
// replica resolves the same current version, it is never a hostile one,
// it never goes down as versions arrive, and a tombstone dominates every
// lower version.
func TestResolveConverges(t *testing.T) {
	const target NodeID = "target"
	m := resolveMembers()
	honest := []NodeID{"alice", "admin2", target}
	hostile := []NodeID{"bob", "carol"}
	rng := mrand.New(mrand.NewPCG(7, 8))
	for trial := range 1000 {
		var vs []SecretVersion
		for range 1 + rng.IntN(8) {
			vs = append(vs, SecretVersion{ID: randID(rng), Author: honest[rng.IntN(len(honest))],
				Version: 1 + uint64(rng.IntN(6)), Tombstone: rng.IntN(4) == 0})
		}
		for range rng.IntN(6) {
			v := SecretVersion{ID: randID(rng), Author: hostile[rng.IntN(len(hostile))], Tombstone: rng.IntN(3) == 0}
			switch rng.IntN(3) {
			case 0:
				v.Version = 1 // a rival first version
			case 1:
				v.Version = 1 + uint64(rng.IntN(10))
			case 2:
				v.Version = MaxVersion - uint64(rng.IntN(3)) // near the ceiling
			}
			vs = append(vs, v)
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
				res := Resolve(target, seen, m)
				if res.Current != nil {
					if slices.Contains(hostile, res.Current.Author) {
						t.Fatalf("trial %d: a hostile version is current: %+v", trial, *res.Current)
					}
					if res.Current.Version < last {
						t.Fatalf("trial %d: current went from %d down to %d", trial, last, res.Current.Version)
					}
					last = res.Current.Version
				}
			}
			res := Resolve(target, seen, m)
			if r == 0 {
				want = res.Current
			} else if fmt.Sprint(res.Current) != fmt.Sprint(want) {
				t.Fatalf("trial %d: replicas disagree: %v vs %v", trial, res.Current, want)
			}
			if res.Current != nil && res.Current.Tombstone {
				for _, v := range seen {
					if res.Valid[v.ID] && v.Version > res.Current.Version {
						t.Fatalf("trial %d: a higher version outranks the tombstone", trial)
					}
				}
			}
			// The honest writers can always write after it.
			if next := res.NextVersion(); next > MaxVersion || (res.Current != nil && next <= res.Current.Version) {
				t.Fatalf("trial %d: next version %d after %v", trial, next, res.Current)
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

func TestNextVersion(t *testing.T) {
	const target, alice, bob NodeID = "target", "alice", "bob"
	m := resolveMembers()
	for _, tc := range []struct {
		name string
		vs   []SecretVersion
		next uint64
	}{
		{"new secret", nil, 1},
		{"after an admin's versions", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, false)}, 3},
		{"version 1 missing: above what counts", []SecretVersion{sv(2, alice, 2, false), sv(3, alice, 3, true)}, 4},
		{"refused versions do not raise it", []SecretVersion{sv(1, alice, 1, false), sv(9, bob, MaxVersion, false)}, 2},
		{"a version out of reach does not raise it", []SecretVersion{sv(1, alice, 1, false), sv(9, target, MaxVersion, false)}, 2},
		{"after a delete", []SecretVersion{sv(1, alice, 1, false), sv(2, alice, 2, true)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(target, tc.vs, m).NextVersion(); got != tc.next {
				t.Errorf("NextVersion = %d, want %d", got, tc.next)
			}
		})
	}
}

// Property: a revoked admin's versions count only where its revocation
// pinned them, so every node agrees whether they arrived before or after
// the revoke.
func TestRevokedAuthorsVersions(t *testing.T) {
	const target NodeID = "target"
	before := NewMembers("alice", map[NodeID]Role{"alice": RoleAdmin, "admin2": RoleAdmin, "target": RoleNode}, nil, nil)
	vs := []SecretVersion{sv(10, "alice", 1, false), sv(11, "admin2", 2, false), sv(12, "admin2", 3, false)}
	if cur := Resolve(target, vs, before).Current; cur.ID[0] != 12 {
		t.Fatalf("before the revoke: current %d", cur.ID[0])
	}
	// What package membership computes for alice revoking admin2 with a
	// pin of version 11.
	after := NewMembers("alice", map[NodeID]Role{"alice": RoleAdmin, "target": RoleNode},
		map[NodeID]Revocation{"admin2": {By: []NodeID{"alice"}, At: t0, Records: []ID{{5}}}},
		map[NodeID]map[ID]bool{"admin2": {{11}: true}})
	if cur := Resolve(target, vs, after).Current; cur.ID[0] != 11 {
		t.Fatalf("after the revoke: current %d, want the pinned version 11", cur.ID[0])
	}
}
