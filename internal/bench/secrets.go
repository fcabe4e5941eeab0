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
		w, err := src.Node.Commands().SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{string(dst.ID)}, Value: value})
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
		got, err := dst.Node.Commands().RevealSecret(ctx, name)
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

// CredResult is the latency from a secret set on node 0 to the credential
// file written on node 1, and the cost of a burst.
type CredResult struct {
	N       int     `json:"n"`
	Samples int     `json:"samples"`
	Latency Latency `json:"set_to_file"`
	// Burst: BurstSize secrets set at once for node 1, until the last file.
	BurstSize      int     `json:"burst_size"`
	BurstMS        float64 `json:"burst_ms"`
	BurstPerSecret float64 `json:"burst_ms_per_secret"`
}

// CredDelivery measures secret set on node 0 → credential file written on
// node 1 (real systemd-creds), then a burst.
func (c *Cluster) CredDelivery(ctx context.Context, samples, burst int, gap time.Duration) (CredResult, error) {
	res := CredResult{N: len(c.Members), Samples: samples, BurstSize: burst}
	src, dst := c.Members[0], c.Members[1]
	var lat []time.Duration
	for i := range samples {
		name := fmt.Sprintf("cred-%d-%d", time.Now().UnixNano(), i)
		t0 := time.Now()
		if _, err := src.Node.Commands().SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{string(dst.ID)}, Value: []byte("value")}); err != nil {
			return res, err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		at, err := c.Creds.WaitNode(wctx, CredKey(name, 1), dst.Index)
		cancel()
		if err != nil {
			return res, err
		}
		lat = append(lat, at.Sub(t0))
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	res.Latency = Summarize(lat)
	if burst > 0 {
		names := make([]string, burst)
		t0 := time.Now()
		for i := range names {
			names[i] = fmt.Sprintf("burst-%d-%d", time.Now().UnixNano(), i)
			if _, err := src.Node.Commands().SetSecret(ctx, api.SetSecret{Name: names[i], Targets: []string{string(dst.ID)}, Value: []byte("value")}); err != nil {
				return res, err
			}
		}
		var last time.Time
		for _, n := range names {
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			at, err := c.Creds.WaitNode(wctx, CredKey(n, 1), dst.Index)
			cancel()
			if err != nil {
				return res, err
			}
			if at.After(last) {
				last = at
			}
		}
		res.BurstMS = ms(last.Sub(t0))
		res.BurstPerSecret = res.BurstMS / float64(burst)
	}
	return res, nil
}
