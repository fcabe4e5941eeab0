package membership

import (
	"bytes"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Anchor is a node this node's operator trusts directly, with the role the
// operator gave it: the node it joined through is an admin; a node added
// by ticket, approval or invite has the role chosen then.
type Anchor struct {
	ID   record.NodeID
	Role record.Role
}

// Admit is an admit record as membership needs it.
type Admit struct {
	ID      record.ID
	Author  record.NodeID
	Subject record.NodeID
	Role    record.Role
	Time    time.Time
	Pin     []record.ID
}

// Revoke is a revoke record as membership needs it.
type Revoke struct {
	ID      record.ID
	Author  record.NodeID
	Subject record.NodeID
	Time    time.Time
	Reason  string
	Pin     []record.ID
}

// Input is everything membership is computed from: this node's
// own trust (itself, whether it founded its cluster, its anchors) and the
// admit and revoke records held.
type Input struct {
	Self record.NodeID
	// Founder is set on the node that started its cluster: it is an admin
	// in its own view.
	Founder bool
	Anchors []Anchor
	Admits  []Admit
	Revokes []Revoke
}

// Compute derives membership, roles and revocations. It is a pure
// function of its input, whatever order the records are listed in, so
// every node holding the same records (and the same trust of its own)
// agrees. The rules:
//
//   - Members are this node, its anchors and every node admitted by an
//     admit that counts. An admit counts when its author is an admin; a
//     member's role is that of the latest admit of it that counts (by
//     signed time, then record ID), raised to admin for an admin anchor
//     and for this node when it is the founder.
//   - A revoke counts when its author is an admin, or a revoked former
//     admin whose revocation pinned it. A node revoked by a revoke that
//     counts is never a member, and of what it signed only what its
//     revocation pinned still counts: every other admit, revoke or secret
//     version of its is void, whenever it was signed and arrives.
//   - Each revoke is judged in its own view of the records: without the
//     records of its subject that it did not pin. So a node's counter-
//     revoke, signed after (or without seeing) its own revocation, cannot
//     undo that revocation, nor can any node whose authority came through
//     it; only a third admin can. When two admins revoke each other
//     without either seeing the other's revoke (crossed revocations),
//     both revokes count: both nodes are out.
//   - A demotion (an admit with role node of an admin) keeps what it
//     pinned of the demoted node's records; the rest stops counting while
//     the node is not an admin. Like a revoke, a demotion is judged in its
//     own view, so a demoted admin cannot undo its demotion by revoking
//     its demoter: if it had one demoter, both end up out of office.
//   - Where the rules chase their own tail (admins demoting each other in
//     a ring), the result fails closed: revoked if revoked in any round,
//     admin only if admin in every round.
func Compute(in Input) *record.Members {
	e := newEvaluator(in)
	// Pass 1: decide every revoke in its own view.
	counting := map[*mrec]bool{}
	for _, r := range e.recs {
		if r.revoke {
			counting[r] = e.endCounts(r)
		}
	}
	// Pass 2: members and roles, with revocations settled.
	s := e.flat(world{}, counting)
	// Pass 3: decide in its own view every demotion of a node that is an
	// admin now and signed records the demotion did not pin (a demoted
	// admin that revoked its demoter), then settle roles again.
	demotions := false
	for _, r := range e.recs {
		if !r.revoke && r.role == record.RoleNode && s.role[r.subject] == record.RoleAdmin && len(e.endView(r).hide) > 0 {
			counting[r], demotions = e.endCounts(r), true
		}
	}
	if demotions {
		s = e.flat(world{}, counting)
	}
	return e.members(s)
}

// mrec is a membership record.
type mrec struct {
	id      record.ID
	author  record.NodeID
	subject record.NodeID
	revoke  bool
	role    record.Role
	time    time.Time
	reason  string
	pin     map[record.ID]bool
}

type evaluator struct {
	in       Input
	anchors  map[record.NodeID]record.Role
	recs     []*mrec // sorted by record.ID
	byAuthor map[record.NodeID][]*mrec
	memo     map[string]*mstate
}

func newEvaluator(in Input) *evaluator {
	e := &evaluator{in: in, anchors: map[record.NodeID]record.Role{}, byAuthor: map[record.NodeID][]*mrec{}, memo: map[string]*mstate{}}
	for _, a := range in.Anchors {
		if a.ID != in.Self {
			e.anchors[a.ID] = max(e.anchors[a.ID], a.Role)
		}
	}
	pinSet := func(ids []record.ID) map[record.ID]bool {
		m := make(map[record.ID]bool, len(ids))
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	seen := map[record.ID]bool{}
	for _, a := range in.Admits {
		if !seen[a.ID] && a.Author != a.Subject {
			seen[a.ID] = true
			e.recs = append(e.recs, &mrec{id: a.ID, author: a.Author, subject: a.Subject, role: a.Role, time: a.Time, pin: pinSet(a.Pin)})
		}
	}
	for _, r := range in.Revokes {
		if !seen[r.ID] && r.Author != r.Subject {
			seen[r.ID] = true
			e.recs = append(e.recs, &mrec{id: r.ID, author: r.Author, subject: r.Subject, revoke: true, time: r.Time, reason: r.Reason, pin: pinSet(r.Pin)})
		}
	}
	slices.SortFunc(e.recs, func(a, b *mrec) int { return bytes.Compare(a.id[:], b.id[:]) })
	for _, r := range e.recs {
		e.byAuthor[r.author] = append(e.byAuthor[r.author], r)
	}
	return e
}

// world is a view of the records: for each node in hide, only its records
// in the set are visible.
type world struct {
	hide map[record.NodeID]map[record.ID]bool
}

func (w world) visible(r *mrec) bool {
	allow, ok := w.hide[r.author]
	return !ok || allow[r.id]
}

func (w world) key() string {
	if len(w.hide) == 0 {
		return ""
	}
	ids := make([]record.NodeID, 0, len(w.hide))
	for id := range w.hide {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(string(id))
		b.WriteByte(':')
		var allowed []string
		for rid := range w.hide[id] {
			allowed = append(allowed, hex.EncodeToString(rid[:]))
		}
		slices.Sort(allowed)
		b.WriteString(strings.Join(allowed, ","))
		b.WriteByte(';')
	}
	return b.String()
}

// endView is the view a revoke or a demotion is judged in: its subject's
// records that it did not pin are hidden.
func (e *evaluator) endView(r *mrec) world {
	allow := map[record.ID]bool{}
	for _, x := range e.byAuthor[r.subject] {
		if r.pin[x.id] {
			allow[x.id] = true
		}
	}
	if len(allow) == len(e.byAuthor[r.subject]) {
		return world{} // nothing to hide
	}
	return world{hide: map[record.NodeID]map[record.ID]bool{r.subject: allow}}
}

// endCounts decides one revoke or demotion in its own view.
func (e *evaluator) endCounts(r *mrec) bool {
	w := e.endView(r)
	k := w.key()
	s, ok := e.memo[k]
	if !ok {
		s = e.flat(w, nil)
		e.memo[k] = s
	}
	return s.authority(r)
}

// mstate is one round's verdict.
type mstate struct {
	role      map[record.NodeID]record.Role
	revokedBy map[record.NodeID][]*mrec // counting revokes of each revoked node
	demotion  map[record.NodeID]*mrec   // the latest counting admit of a node, when it makes it a plain node
}

// authority reports whether r's author may sign it, in s.
func (s *mstate) authority(r *mrec) bool {
	if s.role[r.author] == record.RoleAdmin {
		return true
	}
	if rs := s.revokedBy[r.author]; len(rs) > 0 {
		for _, v := range rs {
			if !v.pin[r.id] {
				return false
			}
		}
		return true
	}
	if d := s.demotion[r.author]; d != nil {
		return d.pin[r.id]
	}
	return false
}

// same reports whether two verdicts agree.
func (s *mstate) same(o *mstate) bool {
	if len(s.role) != len(o.role) || len(s.revokedBy) != len(o.revokedBy) || len(s.demotion) != len(o.demotion) {
		return false
	}
	for id, r := range s.role {
		if or, ok := o.role[id]; !ok || or != r {
			return false
		}
	}
	for id, rs := range s.revokedBy {
		if !slices.Equal(rs, o.revokedBy[id]) {
			return false
		}
	}
	for id, d := range s.demotion {
		if o.demotion[id] != d {
			return false
		}
	}
	return true
}

// maxRounds bounds the rounds of one evaluation; a view whose verdicts do
// not settle by then fails closed over the rounds it went through.
const maxRounds = 64

// flat evaluates the records visible in w round by round, each record
// judged by the previous round's verdict, until the verdict repeats. When
// fixed is set, revokes count exactly as it says.
func (e *evaluator) flat(w world, fixed map[*mrec]bool) *mstate {
	s := e.initial(w, fixed)
	history := []*mstate{s}
	for round := 1; round <= maxRounds; round++ {
		next := e.round(w, s, fixed)
		if next.same(s) {
			return next // settled
		}
		for i, h := range history[:len(history)-1] {
			if next.same(h) {
				return failClosed(history[i:])
			}
		}
		history = append(history, next)
		s = next
	}
	return failClosed(history[len(history)/2:])
}

// initial is the first round's input: this node and its anchors, and no
// record counting yet (revokes as fixed says). Starting from the least
// that is certain, authority grows from this node's own trust round by
// round, so nodes that only vouch for each other never bootstrap
// themselves.
func (e *evaluator) initial(w world, fixed map[*mrec]bool) *mstate {
	s := &mstate{role: map[record.NodeID]record.Role{}, revokedBy: map[record.NodeID][]*mrec{}, demotion: map[record.NodeID]*mrec{}}
	for _, r := range e.recs {
		if r.revoke && fixed[r] {
			s.revokedBy[r.subject] = append(s.revokedBy[r.subject], r)
		}
	}
	e.fill(w, s, func(*mrec) bool { return false })
	return s
}

// round computes the next verdict from s.
func (e *evaluator) round(w world, s *mstate, fixed map[*mrec]bool) *mstate {
	next := &mstate{role: map[record.NodeID]record.Role{}, revokedBy: map[record.NodeID][]*mrec{}, demotion: map[record.NodeID]*mrec{}}
	for _, r := range e.recs {
		if !r.revoke || !w.visible(r) {
			continue
		}
		counts := s.authority(r)
		if fixed != nil {
			counts = fixed[r]
		}
		if counts {
			next.revokedBy[r.subject] = append(next.revokedBy[r.subject], r)
		}
	}
	e.fill(w, next, func(r *mrec) bool {
		if v, ok := fixed[r]; ok {
			return v
		}
		return s.authority(r)
	})
	return next
}

// fill computes members, roles and demotions into s (whose revocations
// are set). Members are this node and its anchors, then, breadth first,
// every node admitted by a member through an admit that counts allows
// (authority is grounded in this node's own trust: nodes that only admit
// each other are not members). A member's role is that of the latest such
// admit of it.
func (e *evaluator) fill(w world, s *mstate, counts func(*mrec) bool) {
	revoked := func(id record.NodeID) bool { return len(s.revokedBy[id]) > 0 }
	reached := make(map[record.NodeID]bool, len(e.recs)+1)
	queue := make([]record.NodeID, 0, len(e.recs)+1)
	reach := func(id record.NodeID) {
		if !reached[id] && !revoked(id) {
			reached[id] = true
			queue = append(queue, id)
		}
	}
	reach(e.in.Self)
	for _, id := range sortedKeys(e.anchors) {
		reach(id)
	}
	latest := make(map[record.NodeID]*mrec, len(e.recs))
	admits := func(id record.NodeID) {
		for _, r := range e.byAuthor[id] {
			if r.revoke || !w.visible(r) || revoked(r.subject) || !counts(r) {
				continue
			}
			if l := latest[r.subject]; l == nil || r.time.After(l.time) || (r.time.Equal(l.time) && bytes.Compare(r.id[:], l.id[:]) > 0) {
				latest[r.subject] = r
			}
			reach(r.subject)
		}
	}
	// A revoked node's admits that its revocation pinned are grounded by
	// the revokes that pinned them.
	for _, id := range sortedKeys(s.revokedBy) {
		admits(id)
	}
	for i := 0; i < len(queue); i++ {
		admits(queue[i])
	}
	if s.role == nil || len(s.role) == 0 {
		s.role = make(map[record.NodeID]record.Role, len(reached))
	}
	for id := range reached {
		role := record.RoleNode
		if l := latest[id]; l != nil {
			role = l.role
		}
		if e.anchors[id] == record.RoleAdmin || (id == e.in.Self && e.in.Founder) {
			role = record.RoleAdmin
		}
		s.role[id] = role
		if l := latest[id]; role == record.RoleNode && l != nil && l.role == record.RoleNode && len(l.pin) > 0 {
			s.demotion[id] = l
		}
	}
}

func sortedKeys[V any](m map[record.NodeID]V) []record.NodeID {
	out := make([]record.NodeID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// failClosed merges the verdicts of rounds that cycle: revoked if revoked
// in any, a member only if a member in all, an admin only if an admin in
// all; pins only where every round agrees.
func failClosed(cycle []*mstate) *mstate {
	out := &mstate{role: map[record.NodeID]record.Role{}, revokedBy: map[record.NodeID][]*mrec{}, demotion: map[record.NodeID]*mrec{}}
	for _, s := range cycle {
		for id, rs := range s.revokedBy {
			for _, r := range rs {
				if !slices.Contains(out.revokedBy[id], r) {
					out.revokedBy[id] = append(out.revokedBy[id], r)
				}
			}
		}
	}
	for id, role := range cycle[0].role {
		if len(out.revokedBy[id]) > 0 {
			continue
		}
		for _, s := range cycle[1:] {
			r, ok := s.role[id]
			if !ok {
				role = 0
				break
			}
			role = min(role, r)
		}
		if role != 0 {
			out.role[id] = role
		}
	}
	for id, d := range cycle[0].demotion {
		same := true
		for _, s := range cycle[1:] {
			same = same && s.demotion[id] == d
		}
		if same && out.role[id] == record.RoleNode {
			out.demotion[id] = d
		}
	}
	for _, rs := range out.revokedBy {
		slices.SortFunc(rs, func(a, b *mrec) int { return bytes.Compare(a.id[:], b.id[:]) })
	}
	return out
}

// members turns the final verdict into a Members.
func (e *evaluator) members(s *mstate) *record.Members {
	revoked := map[record.NodeID]record.Revocation{}
	keep := map[record.NodeID]map[record.ID]bool{}
	for id, rs := range s.revokedBy {
		rev := record.Revocation{}
		var kept map[record.ID]bool
		for i, r := range rs {
			rev.Records = append(rev.Records, r.id)
			if !slices.Contains(rev.By, r.author) {
				rev.By = append(rev.By, r.author)
			}
			if i == 0 || r.time.Before(rev.At) {
				rev.At, rev.Reason = r.time, r.reason
			}
			if i == 0 {
				kept = maps.Clone(r.pin)
			} else {
				for k := range kept {
					if !r.pin[k] {
						delete(kept, k)
					}
				}
			}
		}
		slices.SortFunc(rev.Records, func(a, b record.ID) int { return bytes.Compare(a[:], b[:]) })
		slices.Sort(rev.By)
		revoked[id] = rev
		if len(kept) > 0 {
			keep[id] = kept
		}
	}
	for id, d := range s.demotion {
		keep[id] = maps.Clone(d.pin)
	}
	return record.NewMembers(e.in.Self, s.role, revoked, keep)
}
