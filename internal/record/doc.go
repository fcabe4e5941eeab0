// Package record is credmesh's domain core: the signed envelope every
// message travels in, the record kinds and their binary encodings, the
// node ID of a key, the membership view (computed by package membership),
// and the acceptance rules, decided here and nowhere else.
//
// Everything is pure: no I/O, no clock (callers pass now), no logging.
// Every decoder checks its size caps before it allocates or slices, and
// consumes exactly the bytes it is given.
//
// record imports only the standard library and the crypto it needs. Every
// other internal package may import it.
package record
