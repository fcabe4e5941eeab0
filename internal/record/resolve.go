package record

import (
	"bytes"
	"slices"
)

// MaxVersionStep bounds how far above the versions below it a version may
// jump and still count. A writer always writes one above what it holds,
// so honest versions never come near it; a version that jumps further
// waits (stored, not counting) until versions below bridge the gap. With
// MaxVersion at 2^53 an allowed writer would need 2^43 writes to push a
// secret to the ceiling, so no write can freeze a secret.
const MaxVersionStep = 1 << 10

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
	// Current is the version in force (it may be a tombstone), nil when no
	// version counts.
	Current *SecretVersion
	// Valid holds the versions that count.
	Valid map[ID]bool
	// First is the author of the lowest version that counts: the secret's
	// original author, for display.
	First NodeID
	// Known is how many versions are stored, counting or not; Latest is
	// the highest version that counts.
	Known  int
	Latest uint64
}

// SecretCounts reports whether a version of a secret for target by
// author counts: the target writes its own secrets; otherwise the author
// must be an admin, or a former admin whose end pinned the version.
func (m *Members) SecretCounts(target NodeID, v SecretVersion) bool {
	return v.Author == target || m.Counts(v.Author, v.ID)
}

// Resolve is the acceptance rule for secret versions, in one place. It is
// a pure function of the versions and the membership view, so every node
// that holds the same records agrees, whatever order they arrived in:
//
//   - a version or tombstone for target T counts only if its author is T
//     itself or an admin (or a former admin whose revocation or demotion
//     pinned it); there is no "first writer owns the name", so nothing a
//     plain member signs, in any order and with any record ID, changes
//     what counts for another node's secret;
//   - a version counts only within MaxVersionStep of the counting
//     versions below it, so no write can freeze a secret;
//   - the current version is the counting one with the highest version,
//     ties broken by the higher record ID; a tombstone dominates every
//     lower version, and only a higher version brings the name back.
//
// Adding versions never lowers the current version, and replays change
// nothing.
func Resolve(target NodeID, versions []SecretVersion, m *Members) Resolution {
	return ResolveWith(versions, func(v SecretVersion) bool { return m.SecretCounts(target, v) })
}

// ResolveWith is Resolve with the authority rule given as a function.
func ResolveWith(versions []SecretVersion, counts func(SecretVersion) bool) Resolution {
	res := Resolution{Valid: map[ID]bool{}, Known: len(versions)}
	var ok []*SecretVersion
	for i := range versions {
		if counts(versions[i]) {
			ok = append(ok, &versions[i])
		}
	}
	slices.SortFunc(ok, func(a, b *SecretVersion) int {
		if a.Version != b.Version {
			if a.Version < b.Version {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	for _, v := range ok {
		if v.Version > res.Latest+MaxVersionStep {
			break // out of reach until versions below bridge the gap
		}
		if res.Current == nil {
			res.First = v.Author
		}
		res.Valid[v.ID] = true
		res.Latest = v.Version
		res.Current = v
	}
	return res
}

// NextVersion is the version a new write gets: one above every version
// that counts, so versions only rise.
func (res Resolution) NextVersion() uint64 { return res.Latest + 1 }
