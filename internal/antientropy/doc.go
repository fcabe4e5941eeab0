// Package antientropy reconciles record sets with other members over the
// libp2p stream protocol /credmesh/sync/1, so a node that was away, or
// missed a gossip message, catches up.
//
// The method is a per-peer log cursor, as Syncthing's index deltas: every
// node numbers the records it stores in the order it stores them (its
// log, identified by a random index ID). A puller remembers, per peer,
// the index ID and the last log sequence it has seen, and asks for the IDs
// stored after it (one round trip; in sync that is a few dozen bytes),
// then for the records it lacks among them (a second round trip). The cost
// follows what changed since the last pull, not the size of the set. A
// peer whose database was replaced has a new index ID and is pulled from
// the start. Every record received is verified and applied exactly as if
// it came by gossip.
//
// antientropy imports record, store, identity and actor, and libp2p for
// streams; the node package wires it to the gossip host.
package antientropy
