//go:build !crashpoints

package crashpoint

// Enabled says whether this build has crash points (-tags crashpoints).
const Enabled = false

// Here does nothing: a build without -tags crashpoints has no crash
// points, whatever its environment says.
func Here(string) {}
