// Package replica is the one owner of this node's replicated state. Every
// record, this node's own and every other node's, enters the store
// through it, in one transaction that decides and stores it: Apply runs
// the acceptance rules on records from any source (gossip, anti-entropy,
// a hello, a revocation notice), Write seals and stores this node's own
// records from a plan made in the same transaction. It holds the
// membership snapshot, this node's author sequence and the store's log
// sequence, and the limiter for audit entries remote parties trigger, and
// tells the rest of the node what it stored (Notifier).
//
// It sits between the store (SQL) and the actors: it imports record,
// store, identity and api (for the errors the API maps), never an actor.
// Actors declare the small interfaces they need and node wires the
// replica into them.
package replica
