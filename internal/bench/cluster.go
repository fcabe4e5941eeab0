package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/node"
	"github.com/credmesh/credmesh/internal/record"
)

// Cluster is N in-process nodes that trust each other.
type Cluster struct {
	Members  []*Member
	Arrivals *Arrivals
	// Creds records when each node wrote each credential (keyed by
	// CredKey(name, version)).
	Creds *Arrivals

	dir    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// Member is one node of a cluster.
type Member struct {
	Index int
	Node  *node.Node
	ID    record.NodeID
}

// Options shape a cluster.
type Options struct {
	N         int
	Heartbeat time.Duration // base heartbeat (default 10s)
	Log       *slog.Logger  // default: discard
	// Dir is where the nodes' data dirs go (default the system temp dir;
	// /dev/shm puts them on tmpfs, taking disk flushes out of the numbers).
	Dir string
}

// Start starts N nodes on loopback: node 0 first, every other node with
// node 0's ticket, and node 0 adding every other node's ticket, so all of
// them become members of each other through node 0's admits.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp(o.Dir, "credmesh-bench")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cluster{dir: dir, cancel: cancel, errs: make(chan error, o.N), Arrivals: newArrivals(), Creds: newArrivals()}
	first, err := c.startNode(ctx, 0, o, nil)
	if err != nil {
		c.Stop()
		return nil, err
	}
	t0, err := first.Node.Ticket(ctx)
	if err != nil {
		c.Stop()
		return nil, err
	}
	for i := 1; i < o.N; i++ {
		m, err := c.startNode(ctx, i, o, []string{t0.Ticket})
		if err != nil {
			c.Stop()
			return nil, err
		}
		t, err := m.Node.Ticket(ctx)
		if err != nil {
			c.Stop()
			return nil, err
		}
		if _, err := first.Node.Commands().AddPeer(ctx, t.Ticket, "admin"); err != nil { // every node an admin: any writes for any
			c.Stop()
			return nil, fmt.Errorf("add node %d: %w", i, err)
		}
	}
	return c, nil
}

func (c *Cluster) startNode(ctx context.Context, i int, o Options, tickets []string) (*Member, error) {
	m := &Member{Index: i}
	cfg := node.Config{
		DataDir:   filepath.Join(c.dir, fmt.Sprintf("n%02d", i)),
		Listen:    []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		NoMDNS:    true,
		NoWeb:     true,
		Heartbeat: o.Heartbeat,
		Hostname:  fmt.Sprintf("bench-%02d", i),
		Tickets:   tickets,
		Observe:   func(recs []*record.Record) { c.Arrivals.note(i, recs) },
		CredsDir:  filepath.Join(c.dir, fmt.Sprintf("n%02d", i), "creds"),
		OnCredential: func(name string, version uint64, removed bool) {
			c.Creds.noteKey(i, CredKey(name, version))
		},
	}
	ready := make(chan *node.Node, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := node.Run(ctx, cfg, o.Log.With("node", i), func(n *node.Node) { ready <- n })
		if err != nil {
			c.errs <- fmt.Errorf("node %d: %w", i, err)
		}
	}()
	select {
	case n := <-ready:
		m.Node, m.ID = n, n.ID()
	case err := <-c.errs:
		return nil, err
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("node %d did not start within a minute", i)
	}
	c.Members = append(c.Members, m)
	return m, nil
}

// WaitConverged waits until every node sees every other as an online
// member.
func (c *Cluster) WaitConverged(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := len(c.Members) - 1
	for {
		behind := 0
		for _, m := range c.Members {
			s, err := m.Node.Status(ctx)
			if err != nil {
				return err
			}
			if s.Counts.Online < want {
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes still do not see all %d others online after %v", behind, len(c.Members), want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-c.errs:
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops every node and removes the data.
func (c *Cluster) Stop() error {
	c.cancel()
	c.wg.Wait()
	close(c.errs)
	var errs []error
	for err := range c.errs {
		errs = append(errs, err)
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}

// Arrivals records when each node stored each record.
type Arrivals struct {
	mu      sync.Mutex
	at      map[record.ID]map[int]time.Time
	changed chan struct{}
}

func newArrivals() *Arrivals {
	return &Arrivals{at: map[record.ID]map[int]time.Time{}, changed: make(chan struct{}, 1)}
}

func (a *Arrivals) note(node int, recs []*record.Record) {
	ids := make([]record.ID, len(recs))
	for i, r := range recs {
		ids[i] = r.ID()
	}
	a.noteKey(node, ids...)
}

// CredKey identifies a credential write in Cluster.Creds.
func CredKey(name string, version uint64) record.ID {
	return sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", name, version)))
}

func (a *Arrivals) noteKey(node int, ids ...record.ID) {
	now := time.Now()
	a.mu.Lock()
	for _, id := range ids {
		m := a.at[id]
		if m == nil {
			m = map[int]time.Time{}
			a.at[id] = m
		}
		if _, ok := m[node]; !ok {
			m[node] = now
		}
	}
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// Count returns how many (record, node) arrivals were noted.
func (a *Arrivals) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.at {
		n += len(m)
	}
	return n
}

// WaitNode returns when node has stored id.
func (a *Arrivals) WaitNode(ctx context.Context, id record.ID, node int) (time.Time, error) {
	for {
		a.mu.Lock()
		t, ok := a.at[id][node]
		a.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("record %s did not reach node %d: %w", id.Short(), node, ctx.Err())
		case <-a.changed:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Wait returns when n nodes have stored id, with their arrival times.
func (a *Arrivals) Wait(ctx context.Context, id record.ID, n int) (map[int]time.Time, error) {
	for {
		a.mu.Lock()
		got := len(a.at[id])
		var out map[int]time.Time
		if got >= n {
			out = make(map[int]time.Time, got)
			for k, v := range a.at[id] {
				out[k] = v
			}
		}
		a.mu.Unlock()
		if out != nil {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("record %s reached %d of %d nodes: %w", id.Short(), got, n, ctx.Err())
		case <-a.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
