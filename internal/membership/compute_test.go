package membership

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// t0 is the time the tests' records are signed at.
var t0 = time.UnixMilli(1_800_000_000_000)

func newKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func rid(n int) record.ID { return record.ID{byte(n >> 8), byte(n)} }

func pinOf(ns ...int) []record.ID {
	var out []record.ID
	for _, n := range ns {
		out = append(out, rid(n))
	}
	return record.SortPin(out)
}

func adm(n int, author, subject record.NodeID, role record.Role, at int, pin ...int) Admit {
	return Admit{ID: rid(n), Author: author, Subject: subject, Role: role, Time: t0.Add(time.Duration(at) * time.Second), Pin: pinOf(pin...)}
}

func rev(n int, author, subject record.NodeID, at int, pin ...int) Revoke {
	return Revoke{ID: rid(n), Author: author, Subject: subject, Time: t0.Add(time.Duration(at) * time.Second), Pin: pinOf(pin...), Reason: "r" + fmt.Sprint(n)}
}

// view prints a membership compactly: members with roles, then revoked.
func view(m *record.Members) string {
	var b strings.Builder
	for _, id := range m.List() {
		fmt.Fprintf(&b, "%s:%s ", id, m.Role(id))
	}
	b.WriteString("| revoked")
	for _, id := range m.Revoked() {
		fmt.Fprintf(&b, " %s", id)
	}
	return strings.TrimSpace(b.String())
}

const (
	self record.NodeID = "self"
	nA   record.NodeID = "a"
	nB   record.NodeID = "b"
	nC   record.NodeID = "c"
	nD   record.NodeID = "d"
	nM   record.NodeID = "m"
	nX   record.NodeID = "x"
	nY   record.NodeID = "y"
)

func TestMembers(t *testing.T) {
	anchorA := []Anchor{{nA, record.RoleAdmin}}
	for _, tc := range []struct {
		name    string
		founder bool
		anchors []Anchor
		admits  []Admit
		revokes []Revoke
		want    string
	}{
		{"alone", false, nil, nil, nil, "self:node | revoked"},
		{"founder", true, nil, nil, nil, "self:admin | revoked"},
		{"joined through an admin", false, anchorA, nil, nil, "a:admin self:node | revoked"},
		{"added by ticket as a plain node", true, []Anchor{{nB, record.RoleNode}}, nil, nil, "b:node self:admin | revoked"},
		{"admitted by an admin", false, anchorA, []Admit{adm(1, nA, nB, record.RoleNode, 1)}, nil, "a:admin b:node self:node | revoked"},
		{"an admin admits an admin, who admits", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nB, nC, record.RoleNode, 2)}, nil, "a:admin b:admin c:node self:node | revoked"},
		{"a plain node's admit counts for nothing", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleNode, 1), adm(2, nB, nC, record.RoleAdmin, 2)}, nil, "a:admin b:node self:node | revoked"},
		{"strangers admitting each other are not members", false, anchorA,
			[]Admit{adm(1, nX, nY, record.RoleAdmin, 1), adm(2, nY, nX, record.RoleAdmin, 1)}, nil, "a:admin self:node | revoked"},
		{"this node admitted as an admin", false, anchorA, []Admit{adm(1, nA, self, record.RoleAdmin, 1)}, nil, "a:admin self:admin | revoked"},
		{"promote then demote: the latest counts", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleNode, 1), adm(2, nA, nB, record.RoleAdmin, 2), adm(3, nA, nB, record.RoleNode, 3)}, nil, "a:admin b:node self:node | revoked"},
		{"demote then promote", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nA, nB, record.RoleNode, 2), adm(3, nA, nB, record.RoleAdmin, 3)}, nil, "a:admin b:admin self:node | revoked"},
		{"a demoted admin's pinned admit stands", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nB, nC, record.RoleNode, 2), adm(3, nA, nB, record.RoleNode, 3, 2), adm(4, nB, nD, record.RoleNode, 4)},
			nil, "a:admin b:node c:node self:node | revoked"},
		{"legacy admits are admin admits", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nB, nC, record.RoleAdmin, 2)}, nil, "a:admin b:admin c:admin self:node | revoked"},
		{"revoke beats admit", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleNode, 1)}, []Revoke{rev(2, nA, nB, 2)}, "a:admin self:node | revoked b"},
		{"revoke beats an anchor", true, []Anchor{{nA, record.RoleAdmin}, {nB, record.RoleAdmin}},
			nil, []Revoke{rev(2, nA, nB, 2)}, "a:admin self:admin | revoked b"},
		{"a plain node's revoke counts for nothing", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleNode, 1), adm(2, nA, nC, record.RoleNode, 1)}, []Revoke{rev(3, nB, nC, 2)},
			"a:admin b:node c:node self:node | revoked"},
		{"a revoked node's admits are void unless pinned", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nB, nC, record.RoleNode, 2), adm(5, nB, nD, record.RoleNode, 2)}, []Revoke{rev(3, nA, nB, 3, 5)},
			"a:admin d:node self:node | revoked b"},
		{"the founder revoked by an admin it made: the pinned fleet stays", false, []Anchor{{nA, record.RoleAdmin}},
			[]Admit{adm(1, nA, nM, record.RoleAdmin, 1), adm(2, nA, self, record.RoleNode, 1), adm(3, nA, nC, record.RoleNode, 1)},
			[]Revoke{rev(4, nM, nA, 5, 1, 2, 3)}, "c:node m:admin self:node | revoked a"},
		{"another path still admits", false, anchorA,
			[]Admit{adm(1, nA, nB, record.RoleAdmin, 1), adm(2, nB, nC, record.RoleNode, 2), adm(4, nA, nC, record.RoleNode, 4)}, []Revoke{rev(3, nA, nB, 3)},
			"a:admin c:node self:node | revoked b"},
		{"this node can be revoked", false, anchorA, nil, []Revoke{rev(1, nA, self, 1)}, "a:admin | revoked self"},
		{"crossed revocations: both out", false, anchorA,
			[]Admit{adm(1, nA, nM, record.RoleAdmin, 1), adm(2, nA, nC, record.RoleNode, 1)},
			[]Revoke{rev(3, nA, nM, 5), rev(4, nM, nA, 5, 1, 2)}, "c:node self:node | revoked a m"},
		{"a revoked admin's later revoke is void", false, anchorA,
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1), adm(2, nA, nB, record.RoleNode, 1)},
			[]Revoke{rev(3, nA, nX, 5), rev(4, nX, nB, 6)}, "a:admin b:node self:node | revoked x"},
		{"backdating does not help it", false, anchorA,
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1), adm(2, nA, nB, record.RoleNode, 1)},
			[]Revoke{rev(3, nA, nX, 5), rev(4, nX, nB, 2)}, "a:admin b:node self:node | revoked x"},
		{"what its revocation pinned stays", false, anchorA,
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1), adm(2, nA, nB, record.RoleNode, 1)},
			[]Revoke{rev(4, nX, nB, 2), rev(3, nA, nX, 5, 4)}, "a:admin self:node | revoked b x"},
		{"a counter-revoke against two revokers is void", true, []Anchor{{nA, record.RoleAdmin}, {nC, record.RoleAdmin}},
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1)},
			[]Revoke{rev(3, nA, nX, 5), rev(4, nC, nX, 5), rev(5, nX, nA, 6), rev(6, nX, nC, 6)},
			"a:admin c:admin self:admin | revoked x"},
		{"against one revoker it takes both out", true, []Anchor{{nA, record.RoleAdmin}},
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1)},
			[]Revoke{rev(3, nA, nX, 5), rev(5, nX, nA, 6, 1)}, "self:admin | revoked a x"},
		{"a proxy admitted after the revocation is not an admin", true, []Anchor{{nA, record.RoleAdmin}, {nC, record.RoleAdmin}},
			[]Admit{adm(1, nA, nX, record.RoleAdmin, 1), adm(2, nX, nY, record.RoleAdmin, 7)},
			[]Revoke{rev(3, nA, nX, 5), rev(4, nC, nX, 5), rev(5, nY, nA, 8), rev(6, nY, nC, 8)},
			"a:admin c:admin self:admin | revoked x"},
		{"revoking the revoker voids what it did unseen", true, []Anchor{{nC, record.RoleAdmin}},
			[]Admit{adm(1, nC, nA, record.RoleAdmin, 1), adm(2, nC, nB, record.RoleNode, 1)},
			[]Revoke{rev(3, nA, nB, 5), rev(4, nC, nA, 6)}, "b:node c:admin self:admin | revoked a"},
		{"revoking the revoker keeps what it did seen", true, []Anchor{{nC, record.RoleAdmin}},
			[]Admit{adm(1, nC, nA, record.RoleAdmin, 1), adm(2, nC, nB, record.RoleNode, 1)},
			[]Revoke{rev(3, nA, nB, 5), rev(4, nC, nA, 6, 3)}, "c:admin self:admin | revoked a b"},
		{"a demoted admin revoking its one demoter does not get its role back", true, nil,
			[]Admit{adm(1, self, nX, record.RoleAdmin, 1), adm(2, self, nM, record.RoleAdmin, 1), adm(3, nX, nM, record.RoleNode, 5)},
			[]Revoke{rev(4, nM, nX, 6, 1, 2)}, "m:node self:admin | revoked x"},
		{"nor against two demoters", true, nil,
			[]Admit{adm(1, self, nX, record.RoleAdmin, 1), adm(2, self, nY, record.RoleAdmin, 1), adm(5, self, nM, record.RoleAdmin, 1),
				adm(3, nX, nM, record.RoleNode, 5), adm(4, nY, nM, record.RoleNode, 5)},
			[]Revoke{rev(6, nM, nX, 6, 1, 2, 5), rev(7, nM, nY, 6, 1, 2, 5)}, "m:node self:admin x:admin y:admin | revoked"},
		{"admins demoting each other unseen: both demoted", true, nil,
			[]Admit{adm(1, self, nA, record.RoleAdmin, 1), adm(2, self, nM, record.RoleAdmin, 1), adm(3, nA, nM, record.RoleNode, 5), adm(4, nM, nA, record.RoleNode, 5)},
			nil, "a:node m:node self:admin | revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Self: self, Founder: tc.founder, Anchors: tc.anchors, Admits: tc.admits, Revokes: tc.revokes}
			if got := view(Compute(in)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMembersCounts(t *testing.T) {
	in := Input{Self: self, Founder: true,
		Admits: []Admit{adm(1, self, nA, record.RoleAdmin, 1), adm(2, self, nB, record.RoleAdmin, 1), adm(3, self, nC, record.RoleNode, 1),
			adm(10, nA, nD, record.RoleNode, 2), adm(4, self, nB, record.RoleNode, 5, 20)},
		Revokes: []Revoke{rev(5, self, nA, 6, 11, 10)}}
	m := Compute(in)
	for _, tc := range []struct {
		author record.NodeID
		id     int
		want   bool
	}{
		{self, 99, true}, // an admin
		{nC, 99, false},  // a plain node
		{nA, 11, true},   // revoked, pinned
		{nA, 12, false},  // revoked, not pinned
		{nA, 10, true},   // revoked, a pinned admit
		{nB, 20, true},   // demoted, pinned
		{nB, 21, false},  // demoted, not pinned
		{"stranger", 1, false},
	} {
		if got := m.Counts(tc.author, rid(tc.id)); got != tc.want {
			t.Errorf("Counts(%s, %d) = %v, want %v", tc.author, tc.id, got, tc.want)
		}
	}
	if !m.IsMember(nD) {
		t.Error("d, admitted by revoked a in an admit its revocation pinned, is not a member")
	}
	r, ok := m.Revocation(nA)
	if !ok || r.Reason != "r5" || !slices.Equal(r.By, []record.NodeID{self}) || !r.At.Equal(t0.Add(6*time.Second)) {
		t.Errorf("revocation of a = %+v, %v", r, ok)
	}
	if !m.Accepts(nA, rid(11)) || m.Accepts(nA, rid(12)) || !m.Accepts(nC, rid(12)) {
		t.Error("Accepts is wrong about a revoked admin's pinned record or a member's")
	}
	if m.MayWriteSecret(nC, nA) || !m.MayWriteSecret(nC, nC) || !m.MayWriteSecret(self, nC) {
		t.Error("MayWriteSecret: a plain node writes only its own secrets, an admin any")
	}
}

// scenario draws a random mesh: this node (a founder or not), anchors,
// admins and plain nodes admitted over time, promotions, demotions with
// pins, revokes with pins. IDs are random, so every order differs.
func scenario(rng *rand.Rand, nodes []record.NodeID) Input {
	in := Input{Self: nodes[0], Founder: rng.IntN(2) == 0}
	for _, n := range nodes[1:] {
		if rng.IntN(4) == 0 {
			in.Anchors = append(in.Anchors, Anchor{n, record.Role(1 + rng.IntN(2))})
		}
	}
	var ids []record.ID
	newID := func() record.ID {
		var id record.ID
		for i := range id {
			id[i] = byte(rng.IntN(256))
		}
		ids = append(ids, id)
		return id
	}
	pin := func() []record.ID {
		var p []record.ID
		for _, id := range ids {
			if rng.IntN(2) == 0 {
				p = append(p, id)
			}
		}
		return record.SortPin(p)
	}
	for range rng.IntN(16) {
		a, s := nodes[rng.IntN(len(nodes))], nodes[rng.IntN(len(nodes))]
		in.Admits = append(in.Admits, Admit{ID: newID(), Author: a, Subject: s, Role: record.Role(1 + rng.IntN(2)),
			Time: t0.Add(time.Duration(rng.IntN(10)) * time.Second), Pin: pin()})
	}
	for range rng.IntN(5) {
		a, s := nodes[rng.IntN(len(nodes))], nodes[rng.IntN(len(nodes))]
		in.Revokes = append(in.Revokes, Revoke{ID: newID(), Author: a, Subject: s,
			Time: t0.Add(time.Duration(rng.IntN(10)) * time.Second), Pin: pin()})
	}
	return in
}

// Property: membership is a function of the set of records: any delivery
// order of the same records, with replays, gives the same view.
func TestMembersOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nodes := []record.NodeID{"self", "a", "b", "c", "d", "e", "f"}
	for trial := range 2000 {
		in := scenario(rng, nodes)
		want := Compute(in)
		for range 3 {
			shuffled := in
			shuffled.Admits = slices.Clone(in.Admits)
			shuffled.Revokes = slices.Clone(in.Revokes)
			if len(in.Admits) > 0 {
				shuffled.Admits = append(shuffled.Admits, in.Admits[rng.IntN(len(in.Admits))])
			}
			rng.Shuffle(len(shuffled.Admits), func(i, j int) { shuffled.Admits[i], shuffled.Admits[j] = shuffled.Admits[j], shuffled.Admits[i] })
			rng.Shuffle(len(shuffled.Revokes), func(i, j int) { shuffled.Revokes[i], shuffled.Revokes[j] = shuffled.Revokes[j], shuffled.Revokes[i] })
			rng.Shuffle(len(shuffled.Anchors), func(i, j int) { shuffled.Anchors[i], shuffled.Anchors[j] = shuffled.Anchors[j], shuffled.Anchors[i] })
			got := Compute(shuffled)
			if !got.Same(want) {
				t.Fatalf("trial %d: order changed the view:\n%s\nvs\n%s", trial, view(got), view(want))
			}
		}
		for _, id := range nodes {
			if want.IsMember(id) && want.IsRevoked(id) {
				t.Fatalf("trial %d: %s is revoked and a member", trial, id)
			}
		}
	}
}

// Property: nothing a plain member signs (a node that is not an admin and
// never was) changes the view, whatever it is and whenever it is dated.
func TestPlainMembersCannotChangeMembership(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	nodes := []record.NodeID{"self", "a", "b", "c", "d", "e"}
	tried := 0
	for trial := range 3000 {
		in := scenario(rng, nodes)
		base := Compute(in)
		var plain []record.NodeID
		for _, id := range base.List() {
			if base.Role(id) == record.RoleNode && !everAdmin(in, id) {
				plain = append(plain, id)
			}
		}
		if len(plain) == 0 {
			continue
		}
		tried++
		hostile := plain[rng.IntN(len(plain))]
		attacked := in
		attacked.Admits = slices.Clone(in.Admits)
		attacked.Revokes = slices.Clone(in.Revokes)
		for i := range 1 + rng.IntN(6) {
			id := record.ID{0xee, byte(trial), byte(trial >> 8), byte(i)}
			s := nodes[rng.IntN(len(nodes))]
			at := t0.Add(time.Duration(rng.IntN(20)-5) * time.Second)
			if rng.IntN(2) == 0 {
				attacked.Admits = append(attacked.Admits, Admit{ID: id, Author: hostile, Subject: s, Role: record.RoleAdmin, Time: at})
			} else {
				attacked.Revokes = append(attacked.Revokes, Revoke{ID: id, Author: hostile, Subject: s, Time: at})
			}
		}
		if got := Compute(attacked); !got.Same(base) {
			t.Fatalf("trial %d: plain member %s changed the view:\n%s\nvs\n%s\n%s", trial, hostile, view(got), view(base), dumpIn(attacked))
		}
	}
	if tried < 500 {
		t.Fatalf("only %d trials had a plain member", tried)
	}
}

// everAdmin reports whether id is an admin anchor or the subject of any
// admin admit (it may have been an admin at some point).
func everAdmin(in Input, id record.NodeID) bool {
	if id == in.Self && in.Founder {
		return true
	}
	for _, a := range in.Anchors {
		if a.ID == id && a.Role == record.RoleAdmin {
			return true
		}
	}
	for _, a := range in.Admits {
		if a.Subject == id && a.Role == record.RoleAdmin {
			return true
		}
	}
	return false
}

// Property: once an admin is revoked (or demoted) by two anchored
// admins, nothing it signs afterwards (admits, revokes of anyone, through
// a proxy it admits, any date, any pin) changes the view.
func TestRevokedAdminIsPowerless(t *testing.T) {
	endedAdminIsPowerless(t, rand.New(rand.NewPCG(9, 10)), 2000, false)
}

func TestDemotedAdminIsPowerless(t *testing.T) {
	endedAdminIsPowerless(t, rand.New(rand.NewPCG(13, 14)), 2000, true)
}

func endedAdminIsPowerless(t *testing.T, rng *rand.Rand, trials int, demoted bool) {
	nodes := []record.NodeID{"self", "a", "b", "c", "d", "x", "y"}
	for trial := range trials {
		in := scenario(rng, nodes)
		in.Founder = true
		in.Anchors = []Anchor{{nA, record.RoleAdmin}, {nB, record.RoleAdmin}}
		// x was an admin, ended by a and b, which pinned none of what
		// follows; nobody revokes a or b, or x otherwise.
		var revokes []Revoke
		for _, r := range in.Revokes {
			if r.Subject != nA && r.Subject != nB && r.Subject != self && r.Subject != nX {
				revokes = append(revokes, r)
			}
		}
		var admits []Admit
		for _, a := range in.Admits {
			if a.Subject != nX {
				admits = append(admits, a)
			}
		}
		in.Admits = append(admits, Admit{ID: record.ID{0xaa, 1}, Author: nA, Subject: nX, Role: record.RoleAdmin, Time: t0})
		in.Revokes = revokes
		end := t0.Add(time.Second)
		if demoted {
			in.Admits = append(in.Admits, Admit{ID: record.ID{0xaa, 2}, Author: nA, Subject: nX, Role: record.RoleNode, Time: end},
				Admit{ID: record.ID{0xaa, 3}, Author: nB, Subject: nX, Role: record.RoleNode, Time: end})
		} else {
			in.Revokes = append(in.Revokes, Revoke{ID: record.ID{0xaa, 2}, Author: nA, Subject: nX, Time: end},
				Revoke{ID: record.ID{0xaa, 3}, Author: nB, Subject: nX, Time: end})
		}
		base := Compute(in)
		if ended := base.IsRevoked(nX) || base.Role(nX) == record.RoleNode; !ended || base.IsAdmin(nX) {
			t.Fatalf("trial %d: x is not out of office: %s", trial, view(base))
		}
		attacked := in
		attacked.Admits = slices.Clone(in.Admits)
		attacked.Revokes = slices.Clone(in.Revokes)
		for i := range 1 + rng.IntN(6) {
			id := record.ID{0xee, byte(trial), byte(trial >> 8), byte(i)}
			s := nodes[rng.IntN(len(nodes))]
			at := t0.Add(time.Duration(rng.IntN(20)-10) * time.Second)
			switch rng.IntN(3) {
			case 0:
				attacked.Admits = append(attacked.Admits, Admit{ID: id, Author: nX, Subject: s, Role: record.RoleAdmin, Time: at})
			case 1:
				attacked.Revokes = append(attacked.Revokes, Revoke{ID: id, Author: nX, Subject: s, Time: at})
			case 2: // through a proxy it admits after its end
				const proxy record.NodeID = "proxy"
				attacked.Admits = append(attacked.Admits, Admit{ID: id, Author: nX, Subject: proxy, Role: record.RoleAdmin, Time: at})
				id[0] = 0xef
				attacked.Revokes = append(attacked.Revokes, Revoke{ID: id, Author: proxy, Subject: s, Time: at})
			}
		}
		if got := Compute(attacked); !got.Same(base) {
			t.Fatalf("trial %d: the ended admin changed the view:\n%s\nvs\n%s\n%s", trial, view(got), view(base), dumpIn(attacked))
		}
	}
}

// Property: crossed revocations between two admins converge: every
// delivery order (and every subset order on the way) ends in the same
// view, with both revoked.
func TestCrossedRevocationsConverge(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 500 {
		in := Input{Self: nC, Anchors: []Anchor{{nA, record.RoleAdmin}},
			Admits: []Admit{adm(1, nA, nM, record.RoleAdmin, 1), adm(2, nA, nC, record.RoleNode, 1), adm(3, nM, nD, record.RoleNode, 2)}}
		// Each pins what it saw of the other: the admits, not the other's
		// revoke.
		crossed := []Revoke{rev(10, nA, nM, 5+rng.IntN(3), 3), rev(11, nM, nA, 5+rng.IntN(3), 1, 2)}
		rng.Shuffle(len(crossed), func(i, j int) { crossed[i], crossed[j] = crossed[j], crossed[i] })
		first := in
		first.Revokes = crossed[:1]
		_ = Compute(first) // a node that got one first
		in.Revokes = crossed
		got := Compute(in)
		if !got.IsRevoked(nA) || !got.IsRevoked(nM) || !got.IsMember(nD) || got.IsMember(nD) == got.IsAdmin(nD) {
			t.Fatalf("trial %d: %s", trial, view(got))
		}
	}
}

func TestMembersKeyed(t *testing.T) {
	// Admits and revokes built from real keys, as the store hands them over.
	a, b := newKey(1), newKey(2)
	ida, idb := record.NodeIDOf(a.Public().(ed25519.PublicKey)), record.NodeIDOf(b.Public().(ed25519.PublicKey))
	m := Compute(Input{Self: ida, Founder: true, Admits: []Admit{{ID: rid(1), Author: ida, Subject: idb, Role: record.RoleNode, Time: t0}}})
	if !m.IsAdmin(ida) || m.Role(idb) != record.RoleNode || m.Len() != 2 {
		t.Fatal(view(m))
	}
}

// dumpIn prints a membership input for a failure message.
func dumpIn(in Input) string {
	s := fmt.Sprintf("self=%s founder=%v anchors=%v\n", in.Self, in.Founder, in.Anchors)
	for _, a := range in.Admits {
		s += fmt.Sprintf("  admit %x %s->%s %s t=%d pin=%v\n", a.ID[:2], a.Author, a.Subject, a.Role, a.Time.Sub(t0)/1e9, pinNames(a.Pin))
	}
	for _, r := range in.Revokes {
		s += fmt.Sprintf("  revoke %x %s->%s t=%d pin=%v\n", r.ID[:2], r.Author, r.Subject, r.Time.Sub(t0)/1e9, pinNames(r.Pin))
	}
	return s
}

func pinNames(p []record.ID) []string {
	var o []string
	for _, id := range p {
		o = append(o, fmt.Sprintf("%x", id[:2]))
	}
	return o
}

// BenchmarkComputeMembers: a founder that admitted n nodes, three admins
// among them, a few revokes.
func BenchmarkComputeMembers(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := Input{Self: "self", Founder: true}
			for i := range n {
				role := record.RoleNode
				if i < 3 {
					role = record.RoleAdmin
				}
				in.Admits = append(in.Admits, Admit{ID: rid(i + 1), Author: "self", Subject: record.NodeID(fmt.Sprintf("n%05d", i)), Role: role, Time: t0})
			}
			for i := range 5 {
				in.Revokes = append(in.Revokes, Revoke{ID: rid(n + 10 + i), Author: "n00000", Subject: record.NodeID(fmt.Sprintf("n%05d", 10+i)), Time: t0})
			}
			b.ResetTimer()
			for b.Loop() {
				Compute(in)
			}
		})
	}
}

// Property: a revoked admin's secret versions count only where its
// revocation pinned them, whether they arrived before or after the revoke.
func TestRevokedAuthorsVersionsResolve(t *testing.T) {
	const target record.NodeID = "target"
	sv := func(id byte, author record.NodeID, version uint64) record.SecretVersion {
		return record.SecretVersion{ID: record.ID{id}, Author: author, Version: version}
	}
	in := Input{Self: "alice", Founder: true, Admits: []Admit{
		adm(1, "alice", "admin2", record.RoleAdmin, 1), adm(4, "alice", target, record.RoleNode, 1)}}
	vs := []record.SecretVersion{sv(10, "alice", 1), sv(11, "admin2", 2), sv(12, "admin2", 3)}
	if cur := record.Resolve(target, vs, Compute(in)).Current; cur.ID[0] != 12 {
		t.Fatalf("before the revoke: current %d", cur.ID[0])
	}
	in.Revokes = []Revoke{{ID: rid(5), Author: "alice", Subject: "admin2", Time: t0, Pin: []record.ID{{11}}}}
	if cur := record.Resolve(target, vs, Compute(in)).Current; cur.ID[0] != 11 {
		t.Fatalf("after the revoke: current %d, want the pinned version 11", cur.ID[0])
	}
}
