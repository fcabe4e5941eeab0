package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// EventRecordRejected is the audit type of a refused record or message.
const EventRecordRejected = "record.rejected"

// Rejections are audited at most rejectBurst times per rejectWindow for
// each (author, reason); the rest are counted and summed into the next
// audited one, so a hostile flood cannot fill the disk.
const (
	rejectBurst  = 5
	rejectWindow = time.Minute
)

type rejectKey struct {
	author string
	reason record.Reason
}

type rejectWindowState struct {
	start      time.Time
	audited    int
	suppressed int
}

// rejectLimiter counts every rejection by reason and rate-limits auditing.
type rejectLimiter struct {
	mu       sync.Mutex
	total    map[record.Reason]uint64
	windows  map[rejectKey]*rejectWindowState
	lastTrim time.Time
}

// allow counts a rejection and says whether to audit it, and how many
// earlier ones went unaudited.
func (l *rejectLimiter) allow(now time.Time, author string, reason record.Reason) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total == nil {
		l.total = map[record.Reason]uint64{}
		l.windows = map[rejectKey]*rejectWindowState{}
	}
	l.total[reason]++
	if now.Sub(l.lastTrim) > rejectWindow {
		for k, w := range l.windows {
			if now.Sub(w.start) > rejectWindow && w.suppressed == 0 {
				delete(l.windows, k)
			}
		}
		l.lastTrim = now
	}
	k := rejectKey{author, reason}
	w := l.windows[k]
	if w == nil || now.Sub(w.start) > rejectWindow {
		prev := 0
		if w != nil {
			prev = w.suppressed
		}
		l.windows[k] = &rejectWindowState{start: now, audited: 1}
		return true, prev
	}
	if w.audited < rejectBurst {
		w.audited++
		return true, 0
	}
	w.suppressed++
	return false, 0
}

// RejectCounts returns how many envelopes were refused, by reason, since
// the store was opened.
func (s *Store) RejectCounts() map[record.Reason]uint64 {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
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
	From   string // the peer it came from, or "anti-entropy from X"
}

// AuditRejection counts and (rate-limited) audits a rejection that
// happened outside Apply, for example a message that failed to open.
func (s *Store) AuditRejection(ctx context.Context, now time.Time, r Rejection) error {
	ok, suppressed := s.rejects.allow(now, rejectSource(r), r.Reason)
	if !ok {
		return nil // counted; no write for a rate-limited rejection
	}
	return s.write(ctx, func(tx *txw) error { return addRejectEvent(ctx, tx, now, r, suppressed) })
}

// rejectSource is what rejections are rate-limited by: the author when
// known, else where the envelope came from.
func rejectSource(r Rejection) string {
	if r.Author != "" {
		return string(r.Author)
	}
	return r.From
}

func (s *Store) auditReject(ctx context.Context, tx *txw, now time.Time, e *record.Envelope, re *record.RejectError, from string) error {
	r := Rejection{Kind: e.Kind, Author: e.AuthorID(), ID: e.ID().String(), Reason: re.Reason, Detail: re.Detail, From: from}
	if e.Kind == record.KindSecret {
		r.Secret = secretName(e.Body)
	}
	return s.auditRejection(ctx, tx, now, r)
}

func (s *Store) auditRejection(ctx context.Context, tx *txw, now time.Time, r Rejection) error {
	ok, suppressed := s.rejects.allow(now, rejectSource(r), r.Reason)
	if !ok {
		return nil
	}
	return addRejectEvent(ctx, tx, now, r, suppressed)
}

func addRejectEvent(ctx context.Context, tx *txw, now time.Time, r Rejection, suppressed int) error {
	data := map[string]any{"reason": r.Reason, "kind": r.Kind.String(), "from": r.From}
	if r.ID != "" {
		data["record"] = r.ID
	}
	if suppressed > 0 {
		data["suppressed_before"] = suppressed
	}
	b, _ := json.Marshal(data)
	return addEvent(ctx, tx, Event{Time: now, Type: EventRecordRejected, Node: string(r.Author), Secret: r.Secret,
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
func (s *Store) CountRejection(reason record.Reason) {
	s.rejects.mu.Lock()
	defer s.rejects.mu.Unlock()
	if s.rejects.total == nil {
		s.rejects.total = map[record.Reason]uint64{}
		s.rejects.windows = map[rejectKey]*rejectWindowState{}
	}
	s.rejects.total[reason]++
}
