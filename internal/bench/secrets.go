package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

// SecretResult is the latency of secret sets from node 0 to node 1.
type SecretResult struct {
	N       int     `json:"n"`
	Samples int     `json:"samples"`
	Size    int     `json:"value_bytes"`
	Latency Latency `json:"set_to_readable"`
	// The parts: the set call on node 0 (sign, store, publish), until
	// node 1 stored it, and node 1 reading (decrypting) it.
	SetCall Latency `json:"set_call"`
	Stored  Latency `json:"set_to_stored"`
	Read    Latency `json:"read"`
}

// SecretDelivery sets samples secrets on node 0 for node 1 and measures
// from the set until node 1 has stored the version and decrypted it.
func (c *Cluster) SecretDelivery(ctx context.Context, samples, size int, gap time.Duration) (SecretResult, error) {
	res := SecretResult{N: len(c.Members), Samples: samples, Size: size}
	src, dst := c.Members[0], c.Members[1]
	var lat, setCall, stored, read []time.Duration
	for i := range samples {
		value := make([]byte, size)
		_, _ = rand.Read(value)
		name := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		t0 := time.Now()
		w, err := src.Node.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{string(dst.ID)}, Value: value})
		if err != nil {
			return res, fmt.Errorf("set: %w", err)
		}
		setCall = append(setCall, time.Since(t0))
		id, err := record.ParseID(w.Writes[0].Record)
		if err != nil {
			return res, err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		at, err := c.Arrivals.WaitNode(wctx, id, dst.Index)
		cancel()
		if err != nil {
			return res, err
		}
		stored = append(stored, at.Sub(t0))
		t1 := time.Now()
		got, err := dst.Node.RevealSecret(ctx, name)
		read = append(read, time.Since(t1))
		if err != nil {
			return res, fmt.Errorf("read on node 1: %w", err)
		}
		lat = append(lat, time.Since(t0))
		if !bytes.Equal(got.Value, value) {
			return res, fmt.Errorf("node 1 read different bytes for %s", name)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	res.Latency, res.SetCall, res.Stored, res.Read = Summarize(lat), Summarize(setCall), Summarize(stored), Summarize(read)
	return res, nil
}
