package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// CredLatency is the time from `secret set` on node 0 (the API call over
// its control socket) to the credential file written on the target: one
// target (node 1), and every node of the cluster.
type CredLatency struct {
	N int `json:"n"`
	// Writer is what wrote the credentials, as status reports it: host
	// (in process) or systemd-creds (a spawn per credential).
	Writer  string  `json:"writer"`
	ToOne   Latency `json:"to_one"`
	ToAll   Latency `json:"to_all"`
	Burst   int     `json:"burst"`
	BurstMS float64 `json:"burst_ms"` // burst set on node 0 for node 1, to its last file
	// PerSecret is BurstMS / Burst.
	PerSecret float64 `json:"burst_ms_per_secret"`
	// BurstSetMS is the part of BurstMS until the last set call on node 0
	// returned (the calls are made one after another).
	BurstSetMS float64 `json:"burst_set_ms"`
	// Samples are the one-target latencies in ms, for plots.
	Samples []float64 `json:"samples_ms"`
}

// CredLatency measures set -> credential file: samples for node 1, then
// allSamples for every node, then a burst for node 1.
func (c *Procs) CredLatency(ctx context.Context, samples, allSamples, burst int, gap time.Duration) (CredLatency, error) {
	res := CredLatency{N: len(c.Nodes), Burst: burst}
	st, err := c.Nodes[1].Client.Status(ctx)
	if err != nil {
		return res, err
	}
	res.Writer = st.Credentials.Key
	dirs := make([]string, len(c.Nodes))
	ids := make([]string, len(c.Nodes))
	for i, p := range c.Nodes {
		dirs[i], ids[i] = p.Creds, p.ID
	}
	w, err := watchCreds(dirs)
	if err != nil {
		return res, err
	}
	defer w.close()
	a := c.Nodes[0].Client
	value := bytes.Repeat([]byte("v"), 64)
	run := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)

	var one []time.Duration
	for i := range samples {
		name := fmt.Sprintf("one-%s-%d", run, i)
		ch := w.expect(1, name)
		begin := time.Now()
		if _, err := a.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{ids[1]}, Value: value}); err != nil {
			return res, err
		}
		at, err := waitAll(ctx, time.Minute, ch)
		if err != nil {
			return res, fmt.Errorf("%s on node 1: %w", name, err)
		}
		one = append(one, at[0].Sub(begin))
		res.Samples = append(res.Samples, ms(at[0].Sub(begin)))
		sleep(ctx, gap)
	}
	res.ToOne = Summarize(one)

	var all []time.Duration
	for i := range allSamples {
		name := fmt.Sprintf("all-%s-%d", run, i)
		chs := make([]<-chan time.Time, len(c.Nodes))
		for n := range c.Nodes {
			chs[n] = w.expect(n, name)
		}
		begin := time.Now()
		if _, err := a.SetSecret(ctx, api.SetSecret{Name: name, Targets: ids, Value: value}); err != nil {
			return res, err
		}
		at, err := waitAll(ctx, 2*time.Minute, chs...)
		if err != nil {
			return res, fmt.Errorf("%s everywhere: %w", name, err)
		}
		var last time.Time
		for _, t := range at {
			if t.After(last) {
				last = t
			}
		}
		all = append(all, last.Sub(begin))
		sleep(ctx, gap)
	}
	res.ToAll = Summarize(all)

	if burst > 0 {
		chs := make([]<-chan time.Time, burst)
		names := make([]string, burst)
		for i := range burst {
			names[i] = fmt.Sprintf("burst-%s-%d", run, i)
			chs[i] = w.expect(1, names[i])
		}
		begin := time.Now()
		for _, name := range names {
			if _, err := a.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{ids[1]}, Value: value}); err != nil {
				return res, err
			}
		}
		res.BurstSetMS = ms(time.Since(begin))
		at, err := waitAll(ctx, 2*time.Minute, chs...)
		if err != nil {
			return res, fmt.Errorf("burst: %w", err)
		}
		var last time.Time
		for _, t := range at {
			if t.After(last) {
				last = t
			}
		}
		res.BurstMS = ms(last.Sub(begin))
		res.PerSecret = res.BurstMS / float64(burst)
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Idle is what each node costs while nothing happens: CPU (user+system,
// in % of one core), resident memory, and GossipSub bytes.
type Idle struct {
	N             int     `json:"n"`
	Secrets       int     `json:"secrets_stored"`
	WindowSeconds float64 `json:"window_seconds"`
	CPUMean       float64 `json:"cpu_percent_mean"` // per node
	CPUMax        float64 `json:"cpu_percent_max"`  // the busiest node
	RSSMeanMB     float64 `json:"rss_mb_mean"`      // per node, averaged over the window
	RSSMaxMB      float64 `json:"rss_mb_max"`       // the largest sample of any node
	AnonMeanMB    float64 `json:"rss_anon_mb_mean"` // the anonymous part of RSS (heap, stacks)
	// Traffic: GossipSub bytes received and sent per node per second.
	InPerNode        float64 `json:"gossip_in_bytes_per_node_per_second"`
	MaxInPerNode     float64 `json:"gossip_max_in_bytes_per_node_per_second"`
	OutPerNode       float64 `json:"gossip_out_bytes_per_node_per_second"`
	HeartbeatSeconds float64 `json:"heartbeat_seconds"`
}

// Idle samples every node over window.
func (c *Procs) Idle(ctx context.Context, window time.Duration, secrets int) (Idle, error) {
	res := Idle{N: len(c.Nodes), Secrets: secrets}
	cpu0 := make([]float64, len(c.Nodes))
	gossip0 := make([]api.Gossip, len(c.Nodes))
	for i, p := range c.Nodes {
		st, err := p.Client.Status(ctx)
		if err != nil {
			return res, err
		}
		gossip0[i] = st.Gossip
		if cpu0[i], err = cpuSeconds(c.Pid(i)); err != nil {
			return res, err
		}
	}
	begin := time.Now()
	var rssSum, anonSum float64
	var rssN int
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for time.Since(begin) < window {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		for i := range c.Nodes {
			kb, anon, err := rssKB(c.Pid(i))
			if err != nil {
				return res, err
			}
			rssSum += kb / 1024
			anonSum += anon / 1024
			rssN++
			res.RSSMaxMB = max(res.RSSMaxMB, kb/1024)
		}
	}
	elapsed := time.Since(begin).Seconds()
	res.WindowSeconds = elapsed
	res.RSSMeanMB = rssSum / float64(max(rssN, 1))
	res.AnonMeanMB = anonSum / float64(max(rssN, 1))
	var cpuSum, in, out float64
	for i, p := range c.Nodes {
		s, err := cpuSeconds(c.Pid(i))
		if err != nil {
			return res, err
		}
		pct := (s - cpu0[i]) / elapsed * 100
		cpuSum += pct
		res.CPUMax = max(res.CPUMax, pct)
		st, err := p.Client.Status(ctx)
		if err != nil {
			return res, err
		}
		ni := float64(st.Gossip.BytesIn-gossip0[i].BytesIn) / elapsed
		in += ni
		out += float64(st.Gossip.BytesOut-gossip0[i].BytesOut) / elapsed
		res.MaxInPerNode = max(res.MaxInPerNode, ni)
		res.HeartbeatSeconds = st.Gossip.HeartbeatSeconds
	}
	n := float64(len(c.Nodes))
	res.CPUMean, res.InPerNode, res.OutPerNode = cpuSum/n, in/n, out/n
	return res, nil
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds is the user+system CPU time of pid, from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("odd /proc/%d/stat times", pid)
	}
	return (ut + st) / clockTicks, nil
}

// rssKB is VmRSS of pid in KiB, and its anonymous part (RssAnon: heap
// and stacks; the rest is the binary's pages, shared and reclaimable).
func rssKB(pid int) (rss, anon float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	field := func(name string) (float64, error) {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			}
		}
		return 0, fmt.Errorf("no %s for %d", name, pid)
	}
	if rss, err = field("VmRSS"); err != nil {
		return 0, 0, err
	}
	anon, err = field("RssAnon")
	return rss, anon, err
}

// Populate sets count secrets, spread over every node as author and
// target (four writers at once), and waits until every node stores them
// all and has written its own credentials.
func (c *Procs) Populate(ctx context.Context, count int) error {
	ids := make([]string, len(c.Nodes))
	for i, p := range c.Nodes {
		ids[i] = p.ID
	}
	base, err := c.Nodes[0].Client.Status(ctx)
	if err != nil {
		return err
	}
	want := base.Counts.Records["secret"] + count
	err = fourAtATime(count, func(k int) error {
		author := c.Nodes[k%len(c.Nodes)].Client
		target := ids[(k/len(c.Nodes)+k)%len(ids)]
		_, err := author.SetSecret(ctx, api.SetSecret{Name: fmt.Sprintf("stored-%d", k), Targets: []string{target}, Value: []byte(fmt.Sprintf("value %d", k))})
		return err
	})
	if err != nil {
		return err
	}
	if err := c.waitSecrets(ctx, want, 20*time.Minute); err != nil {
		return err
	}
	return c.waitCredsSettled(ctx)
}

// waitCredsSettled waits until no node's count of written credentials
// has changed for 6 s.
func (c *Procs) waitCredsSettled(ctx context.Context) error {
	last, same := -1, 0
	for same < 3 {
		sum := 0
		for _, p := range c.Nodes {
			st, err := p.Client.Status(ctx)
			if err != nil {
				return err
			}
			sum += st.Credentials.Written
		}
		if sum == last {
			same++
		} else {
			last, same = sum, 0
		}
		sleep(ctx, 2*time.Second)
	}
	return ctx.Err()
}

// waitSecrets waits until every node stores want secret records.
func (c *Procs) waitSecrets(ctx context.Context, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := range c.Nodes {
		if err := c.waitOn(ctx, i, want, time.Until(deadline), 500*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// fourAtATime calls set for k = 0..n-1, four calls at a time, and returns
// the first error (each writer stops at its own first error).
func fourAtATime(n int, set func(k int) error) error {
	const writers = 4
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < n; k += writers {
				if err := set(k); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
