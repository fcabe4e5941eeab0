package record

import (
	"crypto/ed25519"
	"errors"
	"math/big"
)

// NodeID is a node's ID: the libp2p peer ID of its ed25519 key, in its
// usual base58 form ("12D3KooW..."). It is computed here, without libp2p,
// so that the domain core stays dependency-free; identity's tests check it
// against libp2p's own.
type NodeID string

// Short returns a prefix of the ID for tables and logs.
func (id NodeID) Short() string {
	if len(id) > 16 {
		return string(id[:16])
	}
	return string(id)
}

// peerIDPrefix is the identity multihash (0x00, length 36) of the
// protobuf PublicKey{Type: Ed25519, Data: 32 bytes} (0x08 0x01 0x12 0x20).
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

const b58alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// NodeIDOf returns the node ID of an ed25519 public key.
func NodeIDOf(pub ed25519.PublicKey) NodeID {
	raw := make([]byte, 0, len(peerIDPrefix)+len(pub))
	raw = append(append(raw, peerIDPrefix...), pub...)
	return NodeID(base58(raw))
}

// PublicKeyOf returns the ed25519 public key inside a node ID.
func PublicKeyOf(id NodeID) (ed25519.PublicKey, error) {
	raw, err := unbase58(string(id))
	if err != nil {
		return nil, err
	}
	if len(raw) != len(peerIDPrefix)+ed25519.PublicKeySize || string(raw[:len(peerIDPrefix)]) != string(peerIDPrefix) {
		return nil, errors.New("not an ed25519 node ID")
	}
	return ed25519.PublicKey(raw[len(peerIDPrefix):]), nil
}

func base58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	radix, mod := big.NewInt(58), new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, b58alphabet[mod.Int64()])
	}
	for range zeros {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func unbase58(s string) ([]byte, error) {
	if len(s) == 0 || len(s) > 128 {
		return nil, errors.New("node ID has a bad length")
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := indexByte(b58alphabet, s[i])
		if d < 0 {
			return nil, errors.New("node ID is not base58")
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
