// Command credmesh-bench measures credmesh: it starts clusters of real
// nodes on loopback and reports delivery latency and idle gossip traffic
// as a table and as JSON. mesh, traffic, secrets and creds run the nodes
// in its own process; cluster runs each node as a credmesh process, with
// its own data and credential directory, and draws SVG plots.
//
//	credmesh-bench mesh -n 10,40 -samples 200
//	credmesh-bench traffic -n 10,30,60 -window 60s
//	credmesh-bench cluster -bin ./credmesh -json docs/bench/cluster.json -plots docs/bench
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/credmesh/credmesh/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "mesh":
		err = runMesh(ctx, os.Args[2:])
	case "traffic":
		err = runTraffic(ctx, os.Args[2:])
	case "secrets":
		err = runSecrets(ctx, os.Args[2:])
	case "creds":
		err = runCreds(ctx, os.Args[2:])
	case "cluster":
		err = runCluster(ctx, os.Args[2:])
	case "encrypt":
		err = runEncrypt(ctx, os.Args[2:])
	case "wakeups":
		err = runWakeups(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "credmesh-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  credmesh-bench mesh    [-n 10,40] [-samples 200] [-gap 20ms] [-dir DIR] [-json FILE]
  credmesh-bench traffic [-n 10,30,60] [-window 60s] [-heartbeat 10s] [-dir DIR] [-json FILE] [-cpuprofile FILE]
  credmesh-bench secrets [-n 10] [-samples 200] [-size 64] [-gap 20ms] [-dir DIR] [-json FILE]
  credmesh-bench creds   [-n 10] [-samples 200] [-burst 20] [-gap 20ms] [-dir DIR] [-json FILE] [-cpuprofile FILE]   (root)
  credmesh-bench cluster [-bin credmesh] [-n 3,10,30] [-samples 500] [-all-samples 100] [-burst 20]
                         [-traffic 10,30,60] [-traffic-window 90s] [-idle-n 30] [-idle 10m] [-stored 10000]
                         [-catchup-s 10000] [-catchup-d 0,1,100,1000] [-parts latency,traffic,idle,catchup]
                         [-creds-key auto|host|systemd-creds,...] [-settle 30s]
                         [-dir DIR] [-json FILE] [-plots DIR]   (real credmesh processes; root: real credentials)
  credmesh-bench cluster -from FILE [-plots DIR]   (print and plot an earlier -json FILE)
  credmesh-bench encrypt [-writer host,varlink,systemd-creds] [-n 1000] [-size 64]   (root: each credential writer on this machine)
  credmesh-bench wakeups [-rate 50] [-window 30s]   (what a wake-up costs a one-P Go process here)`)
	os.Exit(2)
}

func sizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("bad cluster size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// dataDir is where nodes keep their data (-dir).
var dataDir string

func start(ctx context.Context, n int, hb time.Duration) (*bench.Cluster, error) {
	fmt.Fprintf(os.Stderr, "starting %d nodes...\n", n)
	c, err := bench.Start(ctx, bench.Options{N: n, Heartbeat: hb, Dir: dataDir})
	if err != nil {
		return nil, err
	}
	if err := c.WaitConverged(ctx, 3*time.Minute); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func runMesh(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mesh", flag.ExitOnError)
	ns := fs.String("n", "10,40", "cluster sizes")
	samples := fs.Int("samples", 200, "records to publish per size")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between records")
	out := fs.String("json", "", "also write the results as JSON to this file")
	fs.StringVar(&dataDir, "dir", "", "directory for the nodes' data (default the temp dir; /dev/shm for tmpfs)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measuring phase to this file")
	_ = fs.Parse(args)
	list, err := sizes(*ns)
	if err != nil {
		return err
	}
	var results []bench.DeliveryResult
	fmt.Printf("%-4s %-8s %9s %9s %9s %9s   %9s %9s\n", "N", "records", "all p50", "all p90", "all p99", "all max", "each p50", "each p99")
	for _, n := range list {
		c, err := start(ctx, n, 0)
		if err != nil {
			return err
		}
		stopProfile, err := profile(*cpuprofile, n)
		if err != nil {
			return err
		}
		r, err := c.Delivery(ctx, *samples, *gap)
		stopProfile()
		stopErr := c.Stop()
		if err != nil {
			return err
		}
		if stopErr != nil {
			fmt.Fprintln(os.Stderr, "stop:", stopErr)
		}
		results = append(results, r)
		fmt.Printf("%-4d %-8d %7.2fms %7.2fms %7.2fms %7.2fms   %7.2fms %7.2fms\n", r.N, r.Records,
			r.ToAll.P50, r.ToAll.P90, r.ToAll.P99, r.ToAll.Max, r.ToEach.P50, r.ToEach.P99)
	}
	return writeJSON(*out, results)
}

func runTraffic(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("traffic", flag.ExitOnError)
	ns := fs.String("n", "10,30,60", "cluster sizes")
	window := fs.Duration("window", time.Minute, "measuring window per size")
	hb := fs.Duration("heartbeat", 10*time.Second, "base heartbeat interval")
	out := fs.String("json", "", "also write the results as JSON to this file")
	fs.StringVar(&dataDir, "dir", "", "directory for the nodes' data (default the temp dir; /dev/shm for tmpfs)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the idle window to this file")
	_ = fs.Parse(args)
	list, err := sizes(*ns)
	if err != nil {
		return err
	}
	var results []bench.TrafficResult
	fmt.Printf("%-4s %-10s %-10s %14s %14s %14s %16s\n", "N", "window", "heartbeat", "in B/s/node", "max in B/s", "out B/s/node", "records/s/node")
	for _, n := range list {
		c, err := start(ctx, n, *hb)
		if err != nil {
			return err
		}
		stopProfile, err := profile(*cpuprofile, n)
		if err != nil {
			return err
		}
		r, err := c.IdleTraffic(ctx, *window)
		stopProfile()
		stopErr := c.Stop()
		if err != nil {
			return err
		}
		if stopErr != nil {
			fmt.Fprintln(os.Stderr, "stop:", stopErr)
		}
		results = append(results, r)
		fmt.Printf("%-4d %-10s %-10s %14.0f %14.0f %14.0f %16.3f\n", r.N, window.String(),
			(time.Duration(r.HeartbeatSeconds * float64(time.Second))).Round(time.Millisecond).String(), r.InPerNode, r.MaxInPerNode, r.OutPerNode, r.RecordsPerNode)
	}
	return writeJSON(*out, results)
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func runSecrets(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("secrets", flag.ExitOnError)
	ns := fs.String("n", "10", "cluster sizes")
	samples := fs.Int("samples", 200, "secrets to set per size")
	size := fs.Int("size", 64, "bytes per secret")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between secrets")
	out := fs.String("json", "", "also write the results as JSON to this file")
	fs.StringVar(&dataDir, "dir", "", "directory for the nodes' data (default the temp dir; /dev/shm for tmpfs)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measuring phase to this file")
	_ = fs.Parse(args)
	list, err := sizes(*ns)
	if err != nil {
		return err
	}
	var results []bench.SecretResult
	fmt.Printf("%-4s %-8s %-6s %9s %9s %9s %9s\n", "N", "secrets", "bytes", "p50", "p90", "p99", "max")
	for _, n := range list {
		c, err := start(ctx, n, 0)
		if err != nil {
			return err
		}
		stopProfile, err := profile(*cpuprofile, n)
		if err != nil {
			return err
		}
		r, err := c.SecretDelivery(ctx, *samples, *size, *gap)
		stopProfile()
		stopErr := c.Stop()
		if err != nil {
			return err
		}
		if stopErr != nil {
			fmt.Fprintln(os.Stderr, "stop:", stopErr)
		}
		results = append(results, r)
		l := r.Latency
		fmt.Printf("%-4d %-8d %-6d %7.2fms %7.2fms %7.2fms %7.2fms\n", r.N, r.Samples, r.Size, l.P50, l.P90, l.P99, l.Max)
		fmt.Printf("     parts p50/p99: set call %.2f/%.2fms, set to stored on node 1 %.2f/%.2fms, read %.2f/%.2fms\n",
			r.SetCall.P50, r.SetCall.P99, r.Stored.P50, r.Stored.P99, r.Read.P50, r.Read.P99)
	}
	return writeJSON(*out, results)
}

// profile starts a CPU profile to path.nN when path is set; the returned
// function stops it.
func profile(path string, n int) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.n%d", path, n))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func runCreds(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("creds", flag.ExitOnError)
	ns := fs.String("n", "10", "cluster sizes")
	samples := fs.Int("samples", 200, "secrets to set per size")
	burst := fs.Int("burst", 20, "secrets in the burst")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between secrets")
	out := fs.String("json", "", "also write the results as JSON to this file")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measuring phase to this file")
	fs.StringVar(&dataDir, "dir", "", "directory for the nodes' data (default the temp dir; /dev/shm for tmpfs)")
	_ = fs.Parse(args)
	list, err := sizes(*ns)
	if err != nil {
		return err
	}
	var results []bench.CredResult
	fmt.Printf("%-4s %-8s %9s %9s %9s %9s   %-6s %10s %12s\n", "N", "secrets", "p50", "p90", "p99", "max", "burst", "burst ms", "ms/secret")
	for _, n := range list {
		c, err := start(ctx, n, 0)
		if err != nil {
			return err
		}
		stopProfile, err := profile(*cpuprofile, n)
		if err != nil {
			_ = c.Stop()
			return err
		}
		r, err := c.CredDelivery(ctx, *samples, *burst, *gap)
		stopProfile()
		stopErr := c.Stop()
		if err != nil {
			return err
		}
		if stopErr != nil {
			fmt.Fprintln(os.Stderr, "stop:", stopErr)
		}
		results = append(results, r)
		l := r.Latency
		fmt.Printf("%-4d %-8d %7.2fms %7.2fms %7.2fms %7.2fms   %-6d %10.1f %12.2f\n", r.N, r.Samples, l.P50, l.P90, l.P99, l.Max,
			r.BurstSize, r.BurstMS, r.BurstPerSecret)
	}
	return writeJSON(*out, results)
}
