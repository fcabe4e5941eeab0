// Package dialer keeps a node connected to every member: it dials the
// members that are not connected, each with a backoff of its own, brings a
// dial closer when a member's addresses change, and closes the spare
// connections two nodes end up with when they dial each other at once.
//
// It belongs to the gossip actor: every method is called from the actor's
// goroutine. A dial runs in a goroutine of its own and reports its result
// through Config.Done, which the actor turns back into a call of Done.
//
// dialer imports the domain (record) and p2p; never the store, the
// replica or the actor kit.
package dialer
