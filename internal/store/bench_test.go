package store

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
		outs, err := s.Apply(b.Context(), now, envs[i:i+1], "bench")
		if err != nil || outs[0].Err != nil {
			b.Fatal(err, outs[0].Err)
		}
	}
}
