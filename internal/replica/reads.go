package replica

import (
	"context"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// SecretState returns the resolved state of one secret (name, target)
// under the current membership.
func (r *Replica) SecretState(ctx context.Context, key record.Key) (record.Resolution, error) {
	m := r.Members()
	vs, err := r.st.KeyVersions(ctx, key)
	if err != nil {
		return record.Resolution{}, err
	}
	return record.Resolve(key.Target, vs, m), nil
}

// SecretHistory returns every stored version of name (for one target when
// target is set), newest first, each marked current and counting or not
// under the current membership.
func (r *Replica) SecretHistory(ctx context.Context, name string, target record.NodeID) ([]store.SecretVersion, error) {
	m := r.Members()
	out, byTarget, err := r.st.SecretHistory(ctx, name, target)
	if err != nil {
		return nil, err
	}
	resolved := map[record.NodeID]record.Resolution{}
	for i := range out {
		v := &out[i]
		res, ok := resolved[v.Target]
		if !ok {
			res = record.Resolve(v.Target, byTarget[v.Target], m)
			resolved[v.Target] = res
		}
		v.Creator, v.Counts = res.First, res.Valid[v.ID]
		v.Current = res.Current != nil && res.Current.ID == v.ID
	}
	return out, nil
}
