package replica

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// EventRecordRejected is the audit type of a refused record or message.
const EventRecordRejected = "record.rejected"

// Every audit entry a remote party can trigger (refused records, refused
// invites, refused sync streams, bad hellos) goes through one limiter:
// at most remoteBurst entries per remoteWindow for each (source, kind of
// entry), and at most remoteGlobal per remoteWindow for each kind of
// entry from all sources together, so neither one peer nor a crowd of
// fresh identities can fill the disk. What the limiter holds back is
// counted and summed into the next entry of that kind.
const (
	remoteBurst  = 5
	remoteGlobal = 60
	remoteWindow = time.Minute
)

type limitKey struct {
	source string
	kind   string
}

type limitWindow struct {
	start      time.Time
	audited    int
	suppressed int
}

// remoteLimiter counts rejections by reason and rate-limits remote audit
// entries.
type remoteLimiter struct {
	mu       sync.Mutex
	total    map[record.Reason]uint64
	drops    map[string]uint64
	windows  map[limitKey]*limitWindow
	global   map[string]*limitWindow
	lastTrim time.Time
}

func (l *remoteLimiter) init() {
	if l.total == nil {
		l.total = map[record.Reason]uint64{}
		l.drops = map[string]uint64{}
		l.windows = map[limitKey]*limitWindow{}
		l.global = map[string]*limitWindow{}
	}
}

// take says whether a window has room, opening a new one when the old one
// ran out; suppressed is what the closed window held back.
func take(w **limitWindow, now time.Time, burst int) (ok bool, suppressed int) {
	if *w == nil || now.Sub((*w).start) > remoteWindow {
		prev := 0
		if *w != nil {
			prev = (*w).suppressed
		}
		*w = &limitWindow{start: now, audited: 1}
		return true, prev
	}
	if (*w).audited < burst {
		(*w).audited++
		return true, 0
	}
	(*w).suppressed++
	return false, 0
}

// allow says whether to audit one more entry of kind from source, and how
// many earlier ones went unaudited.
func (l *remoteLimiter) allow(now time.Time, source, kind string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if now.Sub(l.lastTrim) > remoteWindow {
		for k, w := range l.windows {
			if now.Sub(w.start) > remoteWindow && w.suppressed == 0 {
				delete(l.windows, k)
			}
		}
		l.lastTrim = now
	}
	k := limitKey{source, kind}
	w := l.windows[k]
	ok, suppressed = take(&w, now, remoteBurst)
	l.windows[k] = w
	if !ok {
		return false, 0
	}
	g := l.global[kind]
	gok, gsup := take(&g, now, remoteGlobal)
	l.global[kind] = g
	if !gok {
		w.audited--
		w.suppressed += 1 + suppressed
		return false, 0
	}
	return true, suppressed + gsup
}

// RejectCounts returns how many envelopes were refused, by reason, since
// the store was opened.
func (s *Replica) RejectCounts() map[record.Reason]uint64 {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
	s.rejects.init()
	out := make(map[record.Reason]uint64, len(s.rejects.total))
	for k, v := range s.rejects.total {
		out[k] = v
	}
	return out
}

// Rejection describes a refused envelope for the audit log. Author is
// empty when the envelope did not even open.
type Rejection struct {
	Kind   record.Kind
	Author record.NodeID
	Secret string // the secret's name, for secret records
	ID     string // record ID when known
	Reason record.Reason
	Detail string
	From   Source // where it came from
}

// Refuse counts and (rate-limited) audits a rejection that happened
// outside Apply, for example a message that failed to open. A failure to
// audit is logged: the refusal stands either way.
func (s *Replica) Refuse(ctx context.Context, r Rejection) {
	now := s.now()
	s.countReject(r.Reason)
	s.log.Debug("rejected message", "reason", r.Reason, "from", r.From.String(), "author", r.Author)
	ok, suppressed := s.rejects.allow(now, rejectSource(r), EventRecordRejected+":"+string(r.Reason))
	if !ok {
		return // counted; no write for a rate-limited rejection
	}
	err := s.st.Update(ctx, func(tx *store.Tx) error { return addRejectEvent(tx, now, r, suppressed) })
	if err != nil && ctx.Err() == nil {
		s.log.Warn("audit rejection failed", "err", err)
	}
}

// rejectSource is what rejections are rate-limited by: the author when
// known, else where the envelope came from.
func rejectSource(r Rejection) string {
	if r.Author != "" {
		return string(r.Author)
	}
	return r.From.String()
}

func (s *Replica) auditReject(tx *store.Tx, now time.Time, e *record.Envelope, re *record.RejectError, from Source) error {
	r := Rejection{Kind: e.Kind, Author: e.AuthorID(), ID: e.ID().String(), Reason: re.Reason, Detail: re.Detail, From: from}
	if e.Kind == record.KindSecret {
		r.Secret = secretName(e.Body)
	}
	s.countReject(r.Reason)
	ok, suppressed := s.rejects.allow(now, rejectSource(r), EventRecordRejected+":"+string(r.Reason))
	if !ok {
		return nil
	}
	return addRejectEvent(tx, now, r, suppressed)
}

func addRejectEvent(tx *store.Tx, now time.Time, r Rejection, suppressed int) error {
	data := map[string]any{"reason": r.Reason, "kind": r.Kind.String(), "from": r.From.String()}
	if r.ID != "" {
		data["record"] = r.ID
	}
	if suppressed > 0 {
		data["suppressed_before"] = suppressed
	}
	b, _ := json.Marshal(data)
	return tx.AddEvent(store.Event{Time: now, Type: EventRecordRejected, Node: string(r.Author), Secret: r.Secret,
		Message: fmt.Sprintf("rejected %s: %s", r.Kind, r.Detail), Data: b})
}

// secretName reads the name at the start of a secret body, if it is a
// printable one (even when the rest of the body is bad).
func secretName(body []byte) string {
	if len(body) == 0 || int(body[0]) >= len(body) || body[0] >= 0x80 {
		return ""
	}
	name := string(body[1 : 1+body[0]])
	if record.ValidName(name) != nil {
		return ""
	}
	return name
}

// CountRejection counts a refusal that is not audited (a duplicate
// dropped by pubsub before it reached the validator).
func (s *Replica) CountRejection(reason record.Reason) { s.countReject(reason) }

func (s *Replica) countReject(reason record.Reason) {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
	s.rejects.init()
	s.rejects.total[reason]++
}

// CountDrops counts n gossip messages dropped before validation (from a
// node that is not a member, or a peer pubsub stopped listening to).
func (s *Replica) CountDrops(reason string, n int) {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
	s.rejects.init()
	s.rejects.drops[reason] += uint64(n)
}

// DropCounts returns how many gossip messages were dropped before
// validation, by reason, since the store was opened.
func (s *Replica) DropCounts() map[string]uint64 {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
	s.rejects.init()
	out := make(map[string]uint64, len(s.rejects.drops))
	for k, v := range s.rejects.drops {
		out[k] = v
	}
	return out
}

// AuditRemote adds an audit entry that a remote party triggered (source
// names it: a node ID or an address), through the remote limiter.
func (s *Replica) AuditRemote(ctx context.Context, source string, e store.Event) error {
	ok, suppressed := s.rejects.allow(e.Time, source, e.Type)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		data := map[string]any{}
		if len(e.Data) > 0 {
			_ = json.Unmarshal(e.Data, &data)
		}
		data["suppressed_before"] = suppressed
		e.Data, _ = json.Marshal(data)
	}
	return s.st.AddEvent(ctx, e)
}

// EventSyncRefused is audited (rate-limited) when a node that is not a
// member asks to sync.
const EventSyncRefused = "sync.refused"

// SyncRefused audits a pull refused to a node that is not a member.
func (s *Replica) SyncRefused(ctx context.Context, peer record.NodeID) {
	e := store.Event{Time: s.now(), Type: EventSyncRefused, Node: string(peer), Message: "sync refused: not a member"}
	if err := s.AuditRemote(ctx, string(peer), e); err != nil {
		s.log.Warn("audit failed", "err", err)
	}
}
