package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Peer is what this node knows about another node.
type Peer struct {
	NodeID       record.NodeID
	Hostname     string
	AgeRecipient string
	AgentVersion string
	Addrs        []string // what it announced in its node record or hello
	SeenAddrs    []string // where it connected from
	StartedAt    time.Time
	FirstSeen    time.Time
	LastSeen     time.Time
	Online       bool
	Ignored      bool
	// Trust is how this node's operator trusts it directly ("" if not).
	Trust string
	// Member, Role and Revoked come from the membership snapshot; a node
	// that is neither a member nor revoked nor ignored is pending.
	Member  bool
	Role    record.Role
	Revoked bool
}

// Pending reports whether the node connected but is not trusted.
func (p Peer) Pending() bool { return !p.Member && !p.Revoked && !p.Ignored }

// Peers returns every node stored in the peers table, with how the
// operator trusts it (Member, Role and Revoked are the caller's to fill
// from membership).
func (s *Store) Peers(ctx context.Context) ([]Peer, error) {
	var out []Peer
	err := s.read(ctx, func(tx *txw) error {
		var err error
		out, err = queryPeers(ctx, tx, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	return out, nil
}

// Peer returns one stored peer (ok is false when nothing is stored about
// it), as Peers does.
func (s *Store) Peer(ctx context.Context, id record.NodeID) (Peer, bool, error) {
	var ps []Peer
	err := s.read(ctx, func(tx *txw) error {
		var err error
		ps, err = queryPeers(ctx, tx, "WHERE p.node_id = ?", string(id))
		return err
	})
	if err != nil || len(ps) == 0 {
		return Peer{}, false, err
	}
	return ps[0], true, nil
}

func queryPeers(ctx context.Context, tx *txw, where string, args ...any) ([]Peer, error) {
	rows, err := tx.QueryContext(ctx, `SELECT p.node_id, p.hostname, p.age_recipient, p.agent_version, p.addrs, p.seen_addrs,
		p.started_ms, p.first_seen_ms, p.last_seen_ms, p.online, p.ignored, coalesce(t.source, '')
		FROM peers p LEFT JOIN trust t ON t.node_id = p.node_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Peer
	for rows.Next() {
		var p Peer
		var id, addrs, seen string
		var started, first, last int64
		if err := rows.Scan(&id, &p.Hostname, &p.AgeRecipient, &p.AgentVersion, &addrs, &seen,
			&started, &first, &last, &p.Online, &p.Ignored, &p.Trust); err != nil {
			return nil, err
		}
		p.NodeID = record.NodeID(id)
		_ = json.Unmarshal([]byte(addrs), &p.Addrs)
		_ = json.Unmarshal([]byte(seen), &p.SeenAddrs)
		p.StartedAt, p.FirstSeen = msTime(started), msTime(first)
		p.LastSeen = msTime(last)
		out = append(out, p)
	}
	return out, rows.Err()
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// notePeer records what a node said about itself in a verified hello
// (its signed node record) and where it connected from.
func notePeer(ctx context.Context, tx *txw, now time.Time, id record.NodeID, n record.Node, remoteAddr string) error {
	var seen string
	err := tx.QueryRowContext(ctx, "SELECT seen_addrs FROM peers WHERE node_id = ?", string(id)).Scan(&seen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var addrs []string
	_ = json.Unmarshal([]byte(seen), &addrs)
	if remoteAddr != "" && !contains(addrs, remoteAddr) {
		addrs = append([]string{remoteAddr}, addrs...)
		if len(addrs) > 8 {
			addrs = addrs[:8]
		}
	}
	if err := upsertPeerFromNode(ctx, tx, id, n, now); err != nil {
		return err
	}
	b, _ := json.Marshal(nonNil(addrs))
	_, err = tx.ExecContext(ctx, "UPDATE peers SET seen_addrs = ?, last_seen_ms = ? WHERE node_id = ?", string(b), now.UnixMilli(), string(id))
	return err
}

// trimPending makes room for one more pending node: it drops the nodes
// first seen longest ago among the untrusted ones keep refuses, down to
// max-1.
func trimPending(ctx context.Context, tx *txw, max int, keep func(record.NodeID) bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT node_id FROM peers WHERE node_id NOT IN (SELECT node_id FROM trust)
		ORDER BY first_seen_ms DESC, node_id`)
	if err != nil {
		return err
	}
	var drop []string
	kept := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if keep(record.NodeID(id)) {
			continue
		}
		if kept++; kept >= max {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, "DELETE FROM peers WHERE node_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Liveness is one peer's heartbeat state.
type Liveness struct {
	NodeID   record.NodeID
	LastSeen time.Time
	Online   bool
}

// SetLiveness saves heartbeat state for several peers in one transaction.
func (s *Store) SetLiveness(ctx context.Context, now time.Time, ls []Liveness) error {
	if len(ls) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *txw) error {
		for _, l := range ls {
			_, err := tx.ExecContext(ctx, `INSERT INTO peers(node_id, first_seen_ms, last_seen_ms, online) VALUES (?, ?, ?, ?)
				ON CONFLICT(node_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), online = excluded.online`,
				string(l.NodeID), now.UnixMilli(), l.LastSeen.UnixMilli(), l.Online)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set liveness: %w", err)
	}
	return nil
}

// MarkAllOffline clears every online flag (at start: nobody has been heard
// from yet).
func (s *Store) MarkAllOffline(ctx context.Context) error {
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, "UPDATE peers SET online = 0 WHERE online != 0")
		return err
	})
}
