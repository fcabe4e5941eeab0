package web

import (
	"encoding/hex"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// markDiverged flags the copies of each share group whose current
// versions differ. A set writes one version for every copy of a group and
// a share copies the version it shares, so copies of one group at
// different versions hold the values of different writes. all is every
// current copy (a list filtered by target still compares with the rest).
// The copies of revoked targets are left out: a new value must never
// reach them, so they always lag.
func markDiverged(list *api.Secrets, all []store.SecretVersion, revoked func(record.NodeID) bool) {
	type group struct{ name, id string }
	versions := map[group]map[uint64]bool{}
	for _, v := range all {
		if v.Tombstone || revoked(v.Target) {
			continue
		}
		g := group{v.Name, hex.EncodeToString(v.Group)}
		if versions[g] == nil {
			versions[g] = map[uint64]bool{}
		}
		versions[g][v.Version] = true
	}
	for i := range list.Secrets {
		s := &list.Secrets[i]
		for j := range s.Targets {
			t := &s.Targets[j]
			if !t.Tombstone && !revoked(record.NodeID(t.Target)) && len(versions[group{s.Name, t.Group}]) > 1 {
				t.Diverged, s.Diverged = true, true
			}
		}
	}
}
