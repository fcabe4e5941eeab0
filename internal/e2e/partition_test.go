package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/testenv"
)

// The partition harness runs five nodes, each in its own network
// namespace, and cuts the network between random groups of them for
// rounds of 4 s, healing for 5 s in between, while every node writes,
// updates and deletes secrets (its own, and secrets others made for it).
// It checks:
//
//   - after the final heal every node holds the same set of records
//     within 30 s;
//   - no acknowledged write is lost: every record a node acknowledged is
//     on every node, and each secret ends at the highest acknowledged
//     version (ties: the higher record ID, as the acceptance rules say);
//   - no delete comes back: a secret whose winning write was a delete is
//     deleted everywhere;
//   - no version goes backwards: every node's current version of every
//     secret, sampled all along, never decreases.
//
// CREDMESH_PARTITION_SEEDS sets the seeds (a count n for seeds 1..n, or
// a comma list); the default is one seed from the clock, logged.
// CREDMESH_PARTITION_ROUNDS sets the rounds (default 10). The daemons run
// the plain binary: the bounds here are about the network, and the race
// build's slower start would only blur them.

const (
	partitionNodes = 5
	partitionCut   = 4 * time.Second
	partitionHeal  = 5 * time.Second
)

func partitionSeeds(t *testing.T) []uint64 {
	v := os.Getenv("CREDMESH_PARTITION_SEEDS")
	if v == "" {
		return []uint64{uint64(time.Now().UnixNano())}
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		var out []uint64
		for i := 1; i <= n; i++ {
			out = append(out, uint64(i))
		}
		return out
	}
	var out []uint64
	for _, f := range strings.Split(v, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("CREDMESH_PARTITION_SEEDS=%q: %v", v, err)
		}
		out = append(out, s)
	}
	return out
}

func partitionRounds(t *testing.T) int {
	v := os.Getenv("CREDMESH_PARTITION_ROUNDS")
	if v == "" {
		return 10
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("CREDMESH_PARTITION_ROUNDS=%q", v)
	}
	return n
}

func TestPartitions(t *testing.T) {
	testenv.Long(t, "10 rounds of 9 s partitions between five daemons: about 90 s")
	needNetns(t)
	needSystemdCreds(t)
	rounds := partitionRounds(t)
	for _, seed := range partitionSeeds(t) {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			runPartitions(t, seed, rounds)
		})
	}
}

// ack is one write a node acknowledged.
type ack struct {
	key       string // name/target
	version   uint64
	record    string // hex record ID
	tombstone bool
}

// beats says a wins over b under the acceptance rules: higher version,
// then higher record ID.
func (a ack) beats(b ack) bool {
	if a.version != b.version {
		return a.version > b.version
	}
	return a.record > b.record
}

// head is one node's current version of a secret, from its database.
type head struct {
	version   uint64
	record    string
	tombstone bool
}

type partitionRun struct {
	t     *testing.T
	lab   *netLab
	nodes []*meshNode
	ids   []string
	mu    sync.Mutex
	acks  []ack
	races int // acknowledged writes by a target over another node's secret
}

func runPartitions(t *testing.T, seed uint64, rounds int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := &partitionRun{t: t, lab: newNetLab(t, partitionNodes)}
	r.start()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.write(ctx, i, rand.New(rand.NewPCG(seed, uint64(10+i))))
		}()
	}
	sampled := make(chan error, 1)
	go func() { sampled <- r.sample(ctx) }()

	var cuts []string
	split := 0 // rounds whose sides held different records at the end of the cut
	var healed time.Time
	for k := range rounds {
		group := randomSplit(rng, partitionNodes)
		cuts = append(cuts, fmt.Sprint(group))
		r.lab.partition(group)
		time.Sleep(partitionCut) // not a wait: how long the cut lasts
		if r.sidesDiffer(group) {
			split++
		}
		r.lab.heal()
		healed = time.Now()
		if k < rounds-1 {
			time.Sleep(partitionHeal) // not a wait: how long the mesh stays whole
		}
	}
	// Right after the final heal the writers stop (each finishes the
	// call in flight) and the mesh must settle.
	cancel()
	wg.Wait()
	if err := <-sampled; err != nil {
		t.Fatal(err)
	}
	r.converge()
	took := time.Since(healed)
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("seed %d: %d rounds %v, %d split the records; %d acknowledged writes (%d by a target racing the author); identical record sets %v after the final heal",
		seed, rounds, cuts, split, len(r.acks), r.races, took.Round(100*time.Millisecond))
	// Correctness was checked above (converge, and the sampler for
	// versions going back); these make sure there was something to check.
	if len(r.acks) == 0 {
		t.Fatal("no write was acknowledged: there is nothing to check for loss")
	}
	if split == 0 {
		t.Fatalf("no cut of %d left the sides with different records: the partitions were not tested", rounds)
	}
}

// sidesDiffer says whether, across the cut, some node lacks a record
// another node has held for more than a second (in a connected mesh a
// record reaches everyone in milliseconds).
func (r *partitionRun) sidesDiffer(group []int) bool {
	sets := make([]map[string]int64, len(r.nodes))
	for i, n := range r.nodes {
		ids, err := readRecordTimes(n.dataDir)
		if err != nil {
			r.t.Fatal(err)
		}
		sets[i] = ids
	}
	old := time.Now().Add(-time.Second).UnixMilli()
	for a := range sets {
		for b := range sets {
			if group[a] == group[b] {
				continue
			}
			for id, received := range sets[a] {
				if _, ok := sets[b][id]; !ok && received < old {
					return true
				}
			}
		}
	}
	return false
}

// randomSplit puts n hosts in two or three non-empty groups.
func randomSplit(rng *rand.Rand, n int) []int {
	k := 2 + rng.IntN(2)
	for {
		g := make([]int, n)
		seen := map[int]bool{}
		for i := range g {
			g[i] = rng.IntN(k)
			seen[g[i]] = true
		}
		if len(seen) > 1 {
			return g
		}
	}
}

// start brings up the five nodes: n0 first, the others with its ticket,
// then n0 adds theirs (admitting them to everyone), and waits until every
// node sees every other online with its age recipient.
func (r *partitionRun) start() {
	t := r.t
	root := t.TempDir()
	first := r.startNode(0, root)
	r.nodes = append(r.nodes, first)
	t0 := first.ticket()
	for i := 1; i < partitionNodes; i++ {
		r.nodes = append(r.nodes, r.startNode(i, root, t0))
	}
	for _, n := range r.nodes {
		n.waitReady()
		r.ids = append(r.ids, n.status().NodeID)
	}
	for _, n := range r.nodes[1:] {
		// Every node an admin: every node writes for every other.
		mustCLI(t, first.dataDir, "peers", "add", n.ticket(), "--role", "admin")
	}
	for i, n := range r.nodes {
		var ps []api.Peer
		eventually(t, 60*time.Second, n.name+" sees every node online", func() bool {
			ps = n.peers()
			for j, id := range r.ids {
				if j == i {
					continue
				}
				p, ok := find(ps, id)
				if !ok || !p.Online || p.State != "member" || p.AgeRecipient == "" {
					return false
				}
			}
			return true
		}, func() string { return describe(ps) })
	}
}

func (r *partitionRun) startNode(i int, root string, tickets ...string) *meshNode {
	name := fmt.Sprintf("n%d", i)
	dir := filepath.Join(root, name)
	tf := filepath.Join(root, name+".ticket")
	a := r.lab.addr(i)
	args := []string{"--listen", "/ip4/" + a + "/tcp/7101", "--listen", "/ip4/" + a + "/udp/7101/quic-v1",
		"--no-mdns", "--hostname", name, "--heartbeat", "1s", "--sync-interval", "3s", "--ticket-file", tf,
		"--creds-dir", filepath.Join(dir, "creds")}
	d := startDaemonWith(r.t, daemonOpts{bin: bin, wrap: r.lab.wrap(i)}, dir, append(args, tickets...)...)
	return &meshNode{daemon: d, name: name, ticketFile: tf}
}

// write is node i's load until stop: set new secrets for any node,
// update and delete its own, and now and then update a secret another
// node made for it (the target may always write; it races the author).
// A call in flight when stop ends is finished, not cancelled, so every
// write the node makes is one it acknowledged.
func (r *partitionRun) write(stop context.Context, i int, rng *rand.Rand) {
	ctx := context.Background()
	c := api.NewClient(filepath.Join(r.nodes[i].dataDir, "control.sock"))
	for n := 0; ; n++ {
		select {
		case <-stop.Done():
			return
		case <-time.After(time.Duration(30+rng.IntN(70)) * time.Millisecond):
		}
		target := rng.IntN(partitionNodes)
		name := fmt.Sprintf("w%d-%d", i, rng.IntN(8))
		value := []byte(fmt.Sprintf("%s from n%d #%d", name, i, n))
		var res api.SecretWrites
		var err error
		race, del := false, false
		switch op := rng.IntN(10); {
		case op < 6:
			res, err = c.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{r.ids[target]}, Value: value})
		case op < 9:
			del = true
			res, err = c.DeleteSecret(ctx, name, []string{r.ids[target]})
		default:
			// Update a secret made by another node for this one, once
			// this node has it (a target may always write its own).
			other := (i + 1 + rng.IntN(partitionNodes-1)) % partitionNodes
			name = fmt.Sprintf("w%d-%d", other, rng.IntN(8))
			if _, herr := c.History(ctx, name, r.ids[i]); herr != nil {
				continue
			}
			race = true
			res, err = c.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{r.ids[i]}, Value: value})
		}
		var se *api.StatusError
		if del && errors.As(err, &se) && se.Code == http.StatusNotFound {
			continue // a delete of a secret that is not there for that target (yet, or any more)
		}
		if err != nil {
			r.t.Errorf("n%d: %v", i, err)
			return
		}
		r.mu.Lock()
		for _, w := range res.Writes {
			r.acks = append(r.acks, ack{key: w.Name + "/" + w.Target, version: w.Version, record: w.Record, tombstone: w.Tombstone})
			if race {
				r.races++
			}
		}
		r.mu.Unlock()
	}
}

// sample reads every node's current versions every 200ms until ctx ends
// and reports the first that went backwards.
func (r *partitionRun) sample(ctx context.Context) error {
	last := make([]map[string]uint64, len(r.nodes))
	for i := range last {
		last[i] = map[string]uint64{}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, n := range r.nodes {
			heads, err := readHeads(n.dataDir)
			if err != nil {
				return fmt.Errorf("n%d: %v", i, err)
			}
			for k, h := range heads {
				if h.version < last[i][k] {
					return fmt.Errorf("n%d: %s went back from v%d to v%d", i, k, last[i][k], h.version)
				}
				last[i][k] = h.version
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// converge waits (30 s at most: the bound this harness holds the mesh to
// after a heal) for identical record sets everywhere, then checks the
// acknowledged writes against them.
func (r *partitionRun) converge() {
	t := r.t
	var detail string
	eventually(t, 30*time.Second, "identical record sets on every node", func() bool {
		first, err := readRecordIDs(r.nodes[0].dataDir)
		if err != nil {
			detail = err.Error()
			return false
		}
		for i, n := range r.nodes[1:] {
			ids, err := readRecordIDs(n.dataDir)
			if err != nil {
				detail = err.Error()
				return false
			}
			if d := diffSets(first, ids); d != "" {
				detail = fmt.Sprintf("n0 and n%d differ: %s", i+1, d)
				return false
			}
		}
		return true
	}, func() string { return detail })

	r.mu.Lock()
	defer r.mu.Unlock()
	want := map[string]ack{}
	for _, a := range r.acks {
		if w, ok := want[a.key]; !ok || a.beats(w) {
			want[a.key] = a
		}
	}
	for i, n := range r.nodes {
		ids, err := readRecordIDs(n.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		heads, err := readHeads(n.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.acks {
			if !ids[a.record] {
				t.Errorf("n%d lost the acknowledged write %s v%d (%s)", i, a.key, a.version, a.record[:12])
			}
		}
		for k, w := range want {
			h := heads[k]
			switch {
			case h.record != w.record:
				t.Errorf("n%d: %s is at v%d %.12s (deleted %v), want the winning write v%d %.12s (deleted %v)",
					i, k, h.version, h.record, h.tombstone, w.version, w.record, w.tombstone)
			case w.tombstone && !h.tombstone:
				t.Errorf("n%d: %s was deleted at v%d and came back", i, k, w.version)
			}
		}
	}
}

func diffSets(a, b map[string]bool) string {
	var only []string
	for k := range a {
		if !b[k] {
			only = append(only, "-"+k[:12])
		}
	}
	for k := range b {
		if !a[k] {
			only = append(only, "+"+k[:12])
		}
	}
	sort.Strings(only)
	if len(only) > 8 {
		only = append(only[:8], fmt.Sprintf("and %d more", len(only)-8))
	}
	return strings.Join(only, " ")
}

// openRO opens a node's database read-only next to the running daemon
// (WAL lets a reader in at any time).
func openRO(dataDir string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+filepath.Join(dataDir, "credmesh.db")+"?mode=ro&_pragma=busy_timeout(5000)")
}

func readRecordIDs(dataDir string) (map[string]bool, error) {
	db, err := openRO(dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT lower(hex(id)) FROM records`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// readRecordTimes is when the node stored each of its records.
func readRecordTimes(dataDir string) (map[string]int64, error) {
	db, err := openRO(dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT lower(hex(id)), received_ms FROM records`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			return nil, err
		}
		out[id] = ms
	}
	return out, rows.Err()
}

// readHeads is the current version of every secret, deleted or not, by
// name/target.
func readHeads(dataDir string) (map[string]head, error) {
	db, err := openRO(dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, target, version, lower(hex(id)), tombstone FROM current_secrets`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]head{}
	for rows.Next() {
		var name, target string
		var h head
		if err := rows.Scan(&name, &target, &h.version, &h.record, &h.tombstone); err != nil {
			return nil, err
		}
		out[name+"/"+target] = h
	}
	return out, rows.Err()
}
