// Package command carries out what an operator asks of this node through
// the web UI, the JSON API and the CLI: write, share, delete and reveal
// secrets; add, approve, promote, demote, revoke and ignore nodes; invite;
// sync credentials. It resolves NODE arguments, checks who may do what,
// and plans each secret write (targets, version, share group) inside the
// replica's write transaction, which seals and stores the records.
//
// It imports replica, store, record, identity and api, never an actor:
// the network and the credential writer are reached through the Mesh and
// Creds interfaces it declares, which node wires. web declares the
// interfaces Commands implements.
package command
