package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// CatchUp is what node B, back after missing D of the S secrets node A
// holds, needed to catch up by anti-entropy, from B's own log of its
// pulls from A.
type CatchUp struct {
	S          int   `json:"s"`
	D          int   `json:"d"`
	Pulls      int   `json:"pulls"`
	RoundTrips int   `json:"round_trips"`
	BytesIn    int64 `json:"bytes_in"`
	BytesOut   int64 `json:"bytes_out"`
	// PullMS is the time spent in those pulls; RestartMS the time from
	// starting B's process to B holding all S.
	PullMS    float64 `json:"pull_ms"`
	RestartMS float64 `json:"restart_to_complete_ms"`
}

// CatchUp needs a 3-node cluster started with LogLevel "debug" (and a
// short SyncInterval, for the wait between runs): node 0 is
// A, node 1 is B, node 2 (stopped here) is the target of every secret, so
// that neither A nor B spends the measurement writing credentials. A
// first sets s secrets with B online; then for each d, B stops, A sets d
// more, B starts again and catches up.
func (c *Procs) CatchUp(ctx context.Context, s int, ds []int) ([]CatchUp, error) {
	if len(c.Nodes) != 3 || c.o.LogLevel != "debug" {
		return nil, fmt.Errorf("catch-up needs 3 nodes at log level debug")
	}
	target := c.Nodes[2].ID
	if err := c.StopNode(2); err != nil {
		return nil, err
	}
	a := c.Nodes[0].Client
	if err := setMany(ctx, a, "held", s, target); err != nil {
		return nil, err
	}
	st, err := a.Status(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.waitOn(ctx, 1, st.Counts.Records["secret"], 10*time.Minute, 100*time.Millisecond); err != nil {
		return nil, err
	}
	var out []CatchUp
	for _, d := range ds {
		// B received the latest records by gossip, which does not move
		// its anti-entropy cursor; a node that has been up for a while
		// has pulled since. Wait for B's periodic pull to bring the
		// cursor up to date, so that the measurement is of D alone.
		if err := c.waitPull(ctx, 1, 0); err != nil {
			return nil, err
		}
		if err := c.StopNode(1); err != nil {
			return nil, err
		}
		if err := setMany(ctx, a, fmt.Sprintf("missed%d", d), d, target); err != nil {
			return nil, err
		}
		st, err := a.Status(ctx)
		if err != nil {
			return nil, err
		}
		want := st.Counts.Records["secret"]
		begin := time.Now()
		if err := c.Start(ctx, 1); err != nil {
			return nil, err
		}
		if err := c.waitOn(ctx, 1, want, 5*time.Minute, 5*time.Millisecond); err != nil {
			return nil, err
		}
		r := CatchUp{S: want, D: d, RestartMS: ms(time.Since(begin))}
		// The pull that completed may log a moment after the count shows.
		deadline := time.Now().Add(time.Minute)
		for {
			pulls, err := readPulls(c.Log(1), c.Nodes[0].ID)
			if err != nil {
				return nil, err
			}
			accepted := 0
			r.Pulls, r.RoundTrips, r.BytesIn, r.BytesOut, r.PullMS = 0, 0, 0, 0, 0
			for _, p := range pulls {
				r.Pulls++
				r.RoundTrips += p.RoundTrips
				r.BytesIn += p.BytesIn
				r.BytesOut += p.BytesOut
				r.PullMS += float64(p.TookMS)
				accepted += p.Accepted
				if accepted >= d {
					break
				}
			}
			if r.Pulls > 0 && accepted >= d {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("d=%d: node 1 logged no pull from node 0 covering the %d records", d, d)
			}
			sleep(ctx, 200*time.Millisecond)
		}
		out = append(out, r)
	}
	return out, nil
}

// waitPull waits for node i to log a new pull from node j.
func (c *Procs) waitPull(ctx context.Context, i, j int) error {
	before, err := readPulls(c.Log(i), c.Nodes[j].ID)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		now, err := readPulls(c.Log(i), c.Nodes[j].ID)
		if err != nil {
			return err
		}
		if len(now) > len(before) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d logged no pull from node %d in 2 minutes", i, j)
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// waitOn waits until node i stores want secret records, checking every
// poll.
func (c *Procs) waitOn(ctx context.Context, i, want int, timeout, poll time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := c.Nodes[i].Client.Status(ctx)
		if err == nil && st.Counts.Records["secret"] >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d holds %d of %d secrets after %v", i, st.Counts.Records["secret"], want, timeout)
		}
		sleep(ctx, poll)
	}
}

// setMany sets n secrets named prefix-K on one node for target, four
// calls at a time.
func setMany(ctx context.Context, c *api.Client, prefix string, n int, target string) error {
	return fourAtATime(n, func(k int) error {
		_, err := c.SetSecret(ctx, api.SetSecret{Name: fmt.Sprintf("%s-%d", prefix, k), Targets: []string{target}, Value: []byte("held")})
		return err
	})
}

// pullLine is the debug line the anti-entropy actor logs per pull.
type pullLine struct {
	Msg        string `json:"msg"`
	Node       string `json:"node"`
	Accepted   int    `json:"accepted"`
	RoundTrips int    `json:"round_trips"`
	BytesIn    int64  `json:"bytes_in"`
	BytesOut   int64  `json:"bytes_out"`
	TookMS     int64  `json:"took_ms"`
}

// readPulls returns the pulls from node logged in a JSON log file.
func readPulls(path, node string) ([]pullLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []pullLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l pullLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "pulled records" && l.Node == node {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
