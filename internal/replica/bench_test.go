package replica

import (
	"testing"

	"github.com/credmesh/credmesh/internal/record"
)

// BenchmarkApplyOne is the cost of storing one received record in its
// own transaction (what gossip does when records arrive one at a time).
func BenchmarkApplyOne(b *testing.B) {
	self, a := newNode(1), newNode(2)
	s := meshStore(b, self, a)
	envs := make([]*record.Envelope, b.N)
	for i := range envs {
		e, err := record.Seal(a.key, record.KindSysinfo, uint64(i+1), now, record.Sysinfo{Load1: uint64(i)}.Encode())
		if err != nil {
			b.Fatal(err)
		}
		envs[i] = e
	}
	b.ResetTimer()
	for i := range b.N {
		outs, err := s.Apply(b.Context(), envs[i:i+1], fromTest)
		if err != nil || outs[0].Err != nil {
			b.Fatal(err, outs[0].Err)
		}
	}
}

// BenchmarkApplySecretBatch is a catch-up: batches of 256 versions of 16
// secrets that already hold 300 versions each (what a node that was away
// pulls from a busy writer).
func BenchmarkApplySecretBatch(b *testing.B) {
	self, a, target := newNode(1), newNode(2), newNode(3)
	s := meshStore(b, self, a)
	seq := uint64(0)
	next := func(name string, version uint64) *record.Envelope {
		seq++
		sec := record.Secret{Name: name, Target: target.pub(), Version: version, CreatedAt: now, Group: make([]byte, record.GroupSize),
			Ciphertext: append([]byte("age-encryption.org/v1\n"), make([]byte, 80)...)}
		e, err := record.Seal(a.key, record.KindSecret, seq, now, sec.Encode())
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	admit, _ := record.Seal(a.key, record.KindAdmit, 1, now, record.Admit{Subject: target.pub(), Source: record.AdmitTicket, Role: record.RoleNode}.Encode())
	if _, err := s.Apply(b.Context(), []*record.Envelope{admit}, fromTest); err != nil {
		b.Fatal(err)
	}
	version := map[string]uint64{}
	batch := func() []*record.Envelope {
		envs := make([]*record.Envelope, 0, 256)
		for i := range 256 {
			name := "s" + string(rune('a'+i%16))
			version[name]++
			envs = append(envs, next(name, version[name]))
		}
		return envs
	}
	for range 300 * 16 / 256 {
		if _, err := s.Apply(b.Context(), batch(), fromTest); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		envs := batch()
		b.StartTimer()
		if _, err := s.Apply(b.Context(), envs, fromTest); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "records/s")
}
