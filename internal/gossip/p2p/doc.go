// Package p2p builds the libp2p side of the gossip actor: the host (QUIC
// and TCP, Noise, yamux, nothing that reaches for the internet), the
// GossipSub router with its peer scoring and mesh parameters, the
// connection gater that refuses revoked nodes, the raw tracer that counts
// what pubsub drops on its own, and the check that a fixed listen port is
// free.
//
// It holds construction only, no state and no goroutines of its own: the
// gossip actor calls it once in PreStart and owns everything it returns.
// Keeping the libp2p option wiring here leaves gossip with the protocol
// (validation, heartbeats, hello, invites, dialing). It imports record
// only; gossip imports it, never the other way round.
package p2p
