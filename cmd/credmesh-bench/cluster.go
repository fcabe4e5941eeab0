package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/bench"
)

// clusterReport is everything `cluster` measured.
type clusterReport struct {
	Machine string              `json:"machine"`
	Latency []bench.CredLatency `json:"set_to_credential"`
	Traffic []bench.Idle        `json:"traffic"`
	Idle    []bench.Idle        `json:"idle"`
	CatchUp []bench.CatchUp     `json:"catch_up"`
}

func runCluster(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ExitOnError)
	binFlag := fs.String("bin", "", "the credmesh binary (default: credmesh next to this tool, else on PATH)")
	ns := fs.String("n", "3,10,30", "cluster sizes for set -> credential latency")
	samples := fs.Int("samples", 500, "secrets set on node 0 for node 1, per size")
	allSamples := fs.Int("all-samples", 100, "secrets set on node 0 for every node, per size")
	burst := fs.Int("burst", 20, "secrets in the burst")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between samples")
	trafficNs := fs.String("traffic", "10,30,60", "cluster sizes for idle gossip traffic")
	trafficWindow := fs.Duration("traffic-window", 90*time.Second, "idle window at traffic-only sizes")
	idleN := fs.Int("idle-n", 30, "cluster size for the idle CPU and memory windows")
	idle := fs.Duration("idle", 10*time.Minute, "idle window (CPU, memory, traffic) at idle-n")
	stored := fs.Int("stored", 10000, "secrets stored for the second idle window (0: skip it)")
	catchS := fs.Int("catchup-s", 10000, "secrets node A holds for catch-up")
	catchD := fs.String("catchup-d", "0,1,100,1000", "secrets node B misses, per catch-up run")
	keys := fs.String("creds-key", "auto", "--creds-key of the nodes; a list (host,systemd-creds) measures latency once per writer, side by side")
	parts := fs.String("parts", "latency,traffic,idle,catchup", "what to measure")
	settle := fs.Duration("settle", 30*time.Second, "wait after a cluster converges before measuring")
	out := fs.String("json", "", "also write the results as JSON to this file")
	plots := fs.String("plots", "", "write SVG plots into this directory")
	fs.StringVar(&dataDir, "dir", "", "directory for the nodes' data (default the temp dir)")
	from := fs.String("from", "", "measure nothing: print and plot the results of an earlier -json FILE")
	_ = fs.Parse(args)
	if *from != "" {
		return replay(*from, *plots)
	}

	bin, err := credmeshBin(*binFlag)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		want[strings.TrimSpace(p)] = true
	}
	latSizes, err := sizes(*ns)
	if err != nil {
		return err
	}
	trafSizes, err := sizes(*trafficNs)
	if err != nil {
		return err
	}
	if want["latency"] && os.Geteuid() != 0 {
		return errors.New("the latency part writes real credentials (the machine's host secret, or systemd-creds), which needs root")
	}
	var keyList []string
	for _, k := range strings.Split(*keys, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if err := bench.CheckCredsKey(k); err != nil {
			return err
		}
		keyList = append(keyList, k)
	}
	if len(keyList) == 0 {
		return errors.New("-creds-key: no key mode given")
	}
	rep := clusterReport{Machine: machine()}

	var all []int
	for _, n := range latSizes {
		if want["latency"] {
			all = append(all, n)
		}
	}
	for _, n := range trafSizes {
		if want["traffic"] {
			all = append(all, n)
		}
	}
	if want["idle"] {
		all = append(all, *idleN)
	}
	slices.Sort(all)
	all = slices.Compact(all)

	for _, n := range all {
		// The idle and traffic windows run once, with the first key; the
		// latency part once per key.
		for i, key := range keyList {
			w := sizeWork{
				idle:    i == 0 && want["idle"] && n == *idleN,
				traffic: i == 0 && want["traffic"] && slices.Contains(trafSizes, n),
				latency: want["latency"] && slices.Contains(latSizes, n),
				stored:  *stored, idleWindow: *idle, trafficWindow: *trafficWindow, settle: *settle,
				samples: *samples, allSamples: *allSamples, burst: *burst, gap: *gap,
			}
			if !w.idle && !w.traffic && !w.latency {
				continue
			}
			fmt.Fprintf(os.Stderr, "starting %d processes (--creds-key %s)...\n", n, key)
			c, err := bench.StartProcs(ctx, bench.ProcOptions{Bin: bin, N: n, Dir: dataDir, CredsKey: key})
			if err != nil {
				return err
			}
			err = measureSize(ctx, c, n, &rep, w)
			if stopErr := c.Stop(); stopErr != nil {
				fmt.Fprintln(os.Stderr, "stop:", stopErr)
			}
			if err != nil {
				return err
			}
		}
	}

	if want["catchup"] {
		ds, err := counts(*catchD)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "catch-up: starting 3 processes...")
		c, err := bench.StartProcs(ctx, bench.ProcOptions{Bin: bin, N: 3, Dir: dataDir, LogLevel: "debug", SyncInterval: 3 * time.Second})
		if err != nil {
			return err
		}
		if err = c.WaitConverged(ctx, 2*time.Minute); err == nil {
			rep.CatchUp, err = c.CatchUp(ctx, *catchS, ds)
		}
		if stopErr := c.Stop(); stopErr != nil {
			fmt.Fprintln(os.Stderr, "stop:", stopErr)
		}
		if err != nil {
			return err
		}
	}

	printCluster(rep)
	if *plots != "" {
		if err := writePlots(*plots, rep); err != nil {
			return err
		}
	}
	return writeJSON(*out, rep)
}

type sizeWork struct {
	idle, traffic, latency            bool
	stored                            int
	idleWindow, trafficWindow, settle time.Duration
	samples, allSamples, burst        int
	gap                               time.Duration
}

// measureSize runs what is asked at one cluster size: the idle window
// first (nothing stored), then latency, then the idle window again with
// secrets stored.
func measureSize(ctx context.Context, c *bench.Procs, n int, rep *clusterReport, w sizeWork) error {
	if err := c.WaitConverged(ctx, 5*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "N=%d converged; settling %v\n", n, w.settle)
	time.Sleep(w.settle)
	switch {
	case w.idle:
		fmt.Fprintf(os.Stderr, "N=%d idle window %v\n", n, w.idleWindow)
		r, err := c.Idle(ctx, w.idleWindow, 0)
		if err != nil {
			return err
		}
		rep.Idle = append(rep.Idle, r)
		if w.traffic {
			rep.Traffic = append(rep.Traffic, r)
		}
	case w.traffic:
		fmt.Fprintf(os.Stderr, "N=%d traffic window %v\n", n, w.trafficWindow)
		r, err := c.Idle(ctx, w.trafficWindow, 0)
		if err != nil {
			return err
		}
		rep.Traffic = append(rep.Traffic, r)
	}
	if w.latency {
		fmt.Fprintf(os.Stderr, "N=%d set -> credential: %d samples, %d to all, burst %d\n", n, w.samples, w.allSamples, w.burst)
		r, err := c.CredLatency(ctx, w.samples, w.allSamples, w.burst, w.gap)
		if err != nil {
			return err
		}
		rep.Latency = append(rep.Latency, r)
	}
	if w.idle && w.stored > 0 {
		fmt.Fprintf(os.Stderr, "N=%d storing %d secrets\n", n, w.stored)
		begin := time.Now()
		if err := c.Populate(ctx, w.stored); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "N=%d stored %d secrets in %v; settling %v, idle window %v\n", n, w.stored, time.Since(begin).Round(time.Second), w.settle, w.idleWindow)
		time.Sleep(w.settle)
		r, err := c.Idle(ctx, w.idleWindow, w.stored)
		if err != nil {
			return err
		}
		rep.Idle = append(rep.Idle, r)
	}
	return nil
}

// replay prints and plots a report written by -json.
func replay(path, plots string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep clusterReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	printCluster(rep)
	if plots == "" {
		return nil
	}
	return writePlots(plots, rep)
}

// credmeshBin finds the credmesh binary.
func credmeshBin(flagged string) (string, error) {
	if flagged != "" {
		return filepath.Abs(flagged)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "credmesh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("credmesh")
	if err != nil {
		return "", errors.New("no credmesh binary: build it (go build ./cmd/credmesh) and pass -bin")
	}
	return filepath.Abs(p)
}

func counts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 0 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.Version())
}
