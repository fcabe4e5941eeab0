// Package membership computes who belongs to a mesh, with which role, and
// who was revoked, from the admit and revoke records a node holds and the
// trust of its own (its anchors, whether it founded its cluster).
//
// Compute is a pure function: no I/O, no clock, no logging, and the same
// answer for any order of the same records, so every node holding the
// same records agrees. Its result is a record.Members, which the
// acceptance rules in package record read.
//
// membership imports only record and the standard library.
package membership
