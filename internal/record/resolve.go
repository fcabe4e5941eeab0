package record

import "bytes"

// SecretVersion is what resolution needs to know of one stored version.
type SecretVersion struct {
	ID        ID
	Author    NodeID
	Version   uint64
	Tombstone bool
}

// Resolution is the state of one secret (name, target), computed from
// every version stored for it.
type Resolution struct {
	// Creator is the original author: the author of the winning version 1.
	// Empty while no version 1 is known (later versions wait for it).
	Creator NodeID
	// Current is the version in force (it may be a tombstone), nil when no
	// version counts yet.
	Current *SecretVersion
	// Valid holds the versions that count: the winning version 1 and later
	// versions by the creator or the target. Others are refused.
	Valid map[ID]bool
	// Known is how many versions are stored, counting or not, and Latest
	// the highest version that counts or may yet count: of the creator or
	// the target, or of anyone while no version 1 is known (a later
	// version can arrive before version 1, which may then make it count).
	Known  int
	Latest uint64
}

// Resolve is the acceptance rule for secret versions, in one place. It is
// a pure function of the set of versions, so every node that holds the
// same set agrees, whatever order the versions arrived in:
//
//   - the first version may come from any member; when several members
//     race to create one, the version 1 with the higher record ID wins and
//     its author is the original author;
//   - later versions and tombstones count only from the original author or
//     the target;
//   - the current version is the counting one with the highest version,
//     ties broken by the higher record ID; a tombstone dominates every
//     lower version, and only a higher version by an allowed writer
//     brings the name back.
//
// Adding versions never lowers the current version unless a racing
// version 1 takes over (the race rule), and replays change nothing.
func Resolve(target NodeID, versions []SecretVersion) Resolution {
	res := Resolution{Valid: map[ID]bool{}, Known: len(versions)}
	var first *SecretVersion
	for i := range versions {
		v := &versions[i]
		if v.Version == 1 && (first == nil || bytes.Compare(v.ID[:], first.ID[:]) > 0) {
			first = v
		}
	}
	if first == nil {
		for _, v := range versions {
			res.Latest = max(res.Latest, v.Version)
		}
		return res
	}
	res.Creator = first.Author
	for i := range versions {
		v := &versions[i]
		ok := v.ID == first.ID || (v.Version > 1 && (v.Author == res.Creator || v.Author == target))
		if !ok {
			continue
		}
		res.Latest = max(res.Latest, v.Version)
		res.Valid[v.ID] = true
		if res.Current == nil || v.Version > res.Current.Version ||
			(v.Version == res.Current.Version && bytes.Compare(v.ID[:], res.Current.ID[:]) > 0) {
			res.Current = v
		}
	}
	return res
}

// MayWrite reports whether node may write a new version of a secret whose
// state is res: anyone when no version of it is known, else its original
// author or its target. While later versions are known but not version 1
// (it has not arrived yet), only the target may: anyone else would create
// a rival version 1, and could take the secret over from its author.
func (res Resolution) MayWrite(node, target NodeID) bool {
	if res.Creator == "" {
		return res.Known == 0 || node == target
	}
	return node == res.Creator || node == target
}

// NextVersion is the version a new write gets: above every version that
// counts or may yet count, so a write never lands below one it did not
// see counted yet (versions only rise).
func (res Resolution) NextVersion() uint64 {
	latest := res.Latest
	if res.Current != nil {
		latest = max(latest, res.Current.Version)
	}
	return latest + 1
}
