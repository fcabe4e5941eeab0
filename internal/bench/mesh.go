package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Latency is a distribution summary in milliseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// Summarize summarises durations.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return ms(s[i])
	}
	return Latency{Samples: len(s), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// DeliveryResult is the delivery latency of records published on node 0.
type DeliveryResult struct {
	N       int     `json:"n"`
	ToAll   Latency `json:"to_all"`  // until the last node stored it
	ToEach  Latency `json:"to_each"` // every (record, node) pair
	Records int     `json:"records"`
}

// Delivery publishes samples records on node 0, one at a time every gap,
// and measures how long each takes to be stored by every other node.
func (c *Cluster) Delivery(ctx context.Context, samples int, gap time.Duration) (DeliveryResult, error) {
	res := DeliveryResult{N: len(c.Members), Records: samples}
	src := c.Members[0]
	var toAll, toEach []time.Duration
	for i := range samples {
		body := record.Sysinfo{CollectedAt: time.Now(), Load1: uint64(i), Load5: uint64(time.Now().UnixNano() % 1000)}.Encode()
		t0 := time.Now()
		rec, err := src.Node.Replica().Publish(ctx, record.KindSysinfo, body)
		if err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		at, err := c.Arrivals.Wait(wctx, rec.ID(), len(c.Members))
		cancel()
		if err != nil {
			return res, err
		}
		var last time.Duration
		for node, t := range at {
			if node == src.Index {
				continue
			}
			d := t.Sub(t0)
			toEach = append(toEach, d)
			last = max(last, d)
		}
		toAll = append(toAll, last)
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	res.ToAll, res.ToEach = Summarize(toAll), Summarize(toEach)
	return res, nil
}

// TrafficResult is idle gossip traffic.
type TrafficResult struct {
	N                int     `json:"n"`
	WindowSeconds    float64 `json:"window_seconds"`
	HeartbeatSeconds float64 `json:"heartbeat_seconds"` // the interval in use at this size
	InPerNode        float64 `json:"in_bytes_per_node_per_second"`
	MaxInPerNode     float64 `json:"max_in_bytes_per_node_per_second"`
	OutPerNode       float64 `json:"out_bytes_per_node_per_second"`
	// RecordsPerNode is how many records (sysinfo updates mostly) each
	// node stored per second during the window: traffic that is not
	// heartbeats.
	RecordsPerNode float64 `json:"records_per_node_per_second"`
}

// IdleTraffic measures GossipSub bytes (heartbeats, gossip control,
// sysinfo updates) each node receives and sends per second while idle.
func (c *Cluster) IdleTraffic(ctx context.Context, window time.Duration) (TrafficResult, error) {
	res := TrafficResult{N: len(c.Members), WindowSeconds: window.Seconds()}
	before := make([][2]int64, len(c.Members))
	for i, m := range c.Members {
		s, err := m.Node.GossipStats(ctx)
		if err != nil {
			return res, err
		}
		before[i] = [2]int64{s.GossipIn, s.GossipOut}
		res.HeartbeatSeconds = s.Heartbeat.Seconds()
	}
	begin := time.Now()
	stored := c.Arrivals.Count()
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(window):
	}
	elapsed := time.Since(begin).Seconds()
	res.RecordsPerNode = float64(c.Arrivals.Count()-stored) / elapsed / float64(len(c.Members))
	var in, out float64
	for i, m := range c.Members {
		s, err := m.Node.GossipStats(ctx)
		if err != nil {
			return res, err
		}
		ni := float64(s.GossipIn-before[i][0]) / elapsed
		in += ni
		out += float64(s.GossipOut-before[i][1]) / elapsed
		res.MaxInPerNode = max(res.MaxInPerNode, ni)
	}
	res.InPerNode = in / float64(len(c.Members))
	res.OutPerNode = out / float64(len(c.Members))
	return res, nil
}
