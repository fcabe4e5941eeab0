// Package e2e holds end-to-end tests that build the real credmesh binary
// and run it as separate processes on loopback, the way an operator does.
// It has no non-test code beyond this comment; nothing imports it.
package e2e
