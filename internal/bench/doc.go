// Package bench is the measuring harness behind cmd/credmesh-bench: it
// starts clusters of real nodes (real libp2p hosts on loopback, real SQLite
// stores in temporary directories) and measures delivery latency and idle
// gossip traffic, reporting tables and JSON.
//
// It sits beside cli on top of node; only cmd/credmesh-bench imports it.
package bench
