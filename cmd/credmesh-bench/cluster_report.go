package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/credmesh/credmesh/internal/bench"
)

// printCluster prints the report as Markdown tables.
func printCluster(r clusterReport) {
	fmt.Printf("machine: %s\n", r.Machine)
	if len(r.Latency) > 0 {
		fmt.Println("\nset on node 0 -> credential file written on the target (writer: host in process, or systemd-creds spawned)")
		fmt.Println("| N | writer | to node 1: samples | p50 | p90 | p99 | max | to all N: samples | p50 | p99 | max | burst | ms | of which set calls ms | ms/secret |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, l := range r.Latency {
			fmt.Printf("| %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %d | %.1f | %.1f | %.1f | %d | %.0f | %s | %.1f |\n", l.N, l.Writer,
				l.ToOne.Samples, l.ToOne.P50, l.ToOne.P90, l.ToOne.P99, l.ToOne.Max,
				l.ToAll.Samples, l.ToAll.P50, l.ToAll.P99, l.ToAll.Max, l.Burst, l.BurstMS, orDash(l.BurstSetMS), l.PerSecret)
		}
	}
	if len(r.Traffic) > 0 {
		fmt.Println("\nidle GossipSub traffic per node")
		fmt.Println("| N | window s | heartbeat s | in B/s (mean) | in B/s (max node) | out B/s (mean) |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, t := range r.Traffic {
			fmt.Printf("| %d | %.0f | %.1f | %.0f | %.0f | %.0f |\n", t.N, t.WindowSeconds, t.HeartbeatSeconds, t.InPerNode, t.MaxInPerNode, t.OutPerNode)
		}
	}
	if len(r.Idle) > 0 {
		fmt.Println("\nidle cost per node process")
		fmt.Println("| N | secrets stored | window s | CPU % of a core (mean) | CPU % (max node) | RSS MB (mean) | RSS MB (max) | of which anonymous MB (mean) | gossip in B/s |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for _, t := range r.Idle {
			fmt.Printf("| %d | %d | %.0f | %.3f | %.3f | %.1f | %.1f | %.1f | %.0f |\n", t.N, t.Secrets, t.WindowSeconds, t.CPUMean, t.CPUMax, t.RSSMeanMB, t.RSSMaxMB, t.AnonMeanMB, t.InPerNode)
		}
	}
	if len(r.CatchUp) > 0 {
		fmt.Println("\ncatch-up of node B after missing D of S secrets (anti-entropy pulls from A, from B's log)")
		fmt.Println("| S | D | pulls | round trips | bytes in | bytes out | total | pull ms | restart -> complete ms |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for _, c := range r.CatchUp {
			fmt.Printf("| %d | %d | %d | %d | %d | %d | %d | %.0f | %.0f |\n", c.S, c.D, c.Pulls, c.RoundTrips, c.BytesIn, c.BytesOut, c.BytesIn+c.BytesOut, c.PullMS, c.RestartMS)
		}
	}
}

// writePlots draws the latency distributions and the costs against N.
func writePlots(dir string, r clusterReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]bench.Chart{}
	if len(r.Latency) > 0 {
		cdf := bench.Chart{Title: "Set on node 0 to credential file on node 1: distribution", XLabel: "latency (ms)", YLabel: "fraction of secrets"}
		// p50 and p99 to node 1, one pair of lines per writer ("to all N"
		// is in the table: its seconds would flatten these lines).
		var writers []string
		lines := map[string][]*bench.Series{}
		for _, l := range r.Latency {
			s, ok := lines[l.Writer]
			if !ok {
				writers = append(writers, l.Writer)
				for _, what := range []string{"p50", "p99"} {
					s = append(s, &bench.Series{Name: l.Writer + " " + what})
				}
				lines[l.Writer] = s
			}
			cdf.Series = append(cdf.Series, bench.CDF(fmt.Sprintf("N = %d, %s", l.N, l.Writer), l.Samples))
			n := float64(l.N)
			for i, y := range []float64{l.ToOne.P50, l.ToOne.P99} {
				s[i].X, s[i].Y = append(s[i].X, n), append(s[i].Y, y)
			}
		}
		vsN := bench.Chart{Title: "Set on node 0 to credential file on node 1, against cluster size", XLabel: "nodes (N)", YLabel: "ms", Markers: true}
		for _, w := range writers {
			for _, s := range lines[w] {
				vsN.Series = append(vsN.Series, *s)
			}
		}
		files["latency-cdf.svg"] = cdf
		files["latency-vs-n.svg"] = vsN
	}
	if len(r.Traffic) > 0 {
		in := bench.Series{Name: "in, mean"}
		inMax := bench.Series{Name: "in, busiest node"}
		for _, t := range r.Traffic {
			n := float64(t.N)
			in.X, in.Y = append(in.X, n), append(in.Y, t.InPerNode)
			inMax.X, inMax.Y = append(inMax.X, n), append(inMax.Y, t.MaxInPerNode)
		}
		files["traffic-vs-n.svg"] = bench.Chart{Title: "Idle gossip bytes per node per second, against cluster size", XLabel: "nodes (N)",
			YLabel: "bytes per second", Markers: true, Series: []bench.Series{in, inMax}}
	}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(dir, name), c.SVG(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// orDash prints ms, or "-" for a figure an older report does not have.
func orDash(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", ms)
}
