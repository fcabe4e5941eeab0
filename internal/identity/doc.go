// Package identity holds a node's two keys and its tickets.
//
// A node has an ed25519 node key (node.key, PKCS#8 PEM), whose libp2p peer
// ID is the node ID, and a separate X25519 age identity (age.key, the
// standard age identity file, so `age -d -i age.key` works). Both are
// files in the data dir, mode 0600, created once by LoadOrCreate and never
// overwritten; a key file that group or others can read is refused.
//
// A ticket is one copy-pasteable string, prefixed "credmesh1", carrying a
// node's public key and addresses (and, for invites, a one-time token and
// an expiry). It round-trips exactly: Parse accepts only the canonical
// form that String produces.
//
// identity imports the standard library, age, libp2p key and peer types
// and multiaddr. The layers above store import it; record does not.
package identity
