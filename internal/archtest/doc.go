// Package archtest enforces the shape of the tree described in
// docs/architecture.md: which internal packages may import which, which
// external dependency each adapter owns, and that every package says what
// it is for. It holds tests only.
package archtest
