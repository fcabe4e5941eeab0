package web

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

func TestMarkDiverged(t *testing.T) {
	g1, g2 := []byte{1}, []byte{2}
	copyOf := func(target string, version uint64, group []byte, tombstone bool) store.SecretVersion {
		return store.SecretVersion{Name: "db", Target: record.NodeID(target), Version: version, Group: group, Tombstone: tombstone}
	}
	tests := []struct {
		name    string
		copies  []store.SecretVersion
		revoked string
		want    []bool // per copy, in order
	}{
		{"one copy", []store.SecretVersion{copyOf("a", 3, g1, false)}, "", []bool{false}},
		{"one write for two targets", []store.SecretVersion{copyOf("a", 2, g1, false), copyOf("b", 2, g1, false)}, "", []bool{false, false}},
		{"one target written apart", []store.SecretVersion{copyOf("a", 3, g1, false), copyOf("b", 2, g1, false)}, "", []bool{true, true}},
		{"separate share groups", []store.SecretVersion{copyOf("a", 3, g1, false), copyOf("b", 1, g2, false)}, "", []bool{false, false}},
		{"a deleted copy", []store.SecretVersion{copyOf("a", 3, g1, false), copyOf("b", 4, g1, true)}, "", []bool{false, false}},
		{"a revoked target lags", []store.SecretVersion{copyOf("a", 5, g1, false), copyOf("b", 5, g1, false), copyOf("c", 4, g1, false)}, "c", []bool{false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list := api.Secrets{Secrets: []api.Secret{{Name: "db"}}}
			for _, c := range tc.copies {
				list.Secrets[0].Targets = append(list.Secrets[0].Targets, api.SecretTarget{Target: string(c.Target),
					Version: c.Version, Group: hex.EncodeToString(c.Group), Tombstone: c.Tombstone})
			}
			markDiverged(&list, tc.copies, func(id record.NodeID) bool { return string(id) == tc.revoked })
			var got []bool
			anyDiverged := false
			for _, tg := range list.Secrets[0].Targets {
				got = append(got, tg.Diverged)
				anyDiverged = anyDiverged || tg.Diverged
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diverged per copy (-want +got):\n%s", diff)
			}
			if list.Secrets[0].Diverged != anyDiverged {
				t.Errorf("name-level diverged %v, want %v", list.Secrets[0].Diverged, anyDiverged)
			}
		})
	}
}
