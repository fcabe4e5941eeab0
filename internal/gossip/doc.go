// Package gossip is the GossipActor: the node's libp2p host (QUIC and
// TCP, Noise, yamux) and its GossipSub topic /credmesh/1/<cluster>.
//
// Its components:
//   - receiver: the topic validator (open, verify, check membership and
//     the clock) and the subscription loop that applies records to the
//     store and dispatches ephemeral messages;
//   - sender: signs and publishes on request of other actors (Publish);
//   - heartbeat: every Config.Heartbeat, scaled with the cluster size, and
//     liveness of the members it hears from;
//   - introducer: the hello exchange on every new connection (each side
//     sends its signed node record) and dialing members it learns of;
//   - dials: which members the sub-package dialer keeps a connection
//     to (remembered peers redialled at start and on loss, with backoff;
//     spare connections closed), and mDNS discovery.
//
// Only members are meshed with and published to (a peer filter plus an
// application score far below the publish threshold for everyone else).
// The lower layer owns its callbacks: gossip declares Sink, node
// implements it. Building the libp2p host and the GossipSub router (the
// options, scoring, gater and tracer) is in the sub-package p2p.
package gossip
