package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrNoIdentity is returned by Load when the data dir has no node key.
var ErrNoIdentity = errors.New("no identity")

// Identity is a node's key material. It is never logged or printed; only
// NodeID and Recipient are public.
type Identity struct {
	NodeID  peer.ID
	nodeKey ed25519.PrivateKey
	ageKey  *age.X25519Identity
}

// NodeKey returns the node's ed25519 private key.
func (id *Identity) NodeKey() ed25519.PrivateKey { return id.nodeKey }

// PublicKey returns the node's ed25519 public key.
func (id *Identity) PublicKey() ed25519.PublicKey {
	return id.nodeKey.Public().(ed25519.PublicKey)
}

// LibP2PKey returns the node key as a libp2p private key.
func (id *Identity) LibP2PKey() crypto.PrivKey {
	k, err := crypto.UnmarshalEd25519PrivateKey(id.nodeKey)
	if err != nil {
		panic("identity: ed25519 key rejected by libp2p: " + err.Error()) // cannot happen for a 64-byte key
	}
	return k
}

// AgeIdentity returns the node's age identity, for decryption.
func (id *Identity) AgeIdentity() *age.X25519Identity { return id.ageKey }

// Recipient returns the node's age recipient ("age1...").
func (id *Identity) Recipient() string { return id.ageKey.Recipient().String() }

// String never prints key material.
func (id *Identity) String() string { return id.NodeID.String() }

// NodeIDFromPublicKey returns the node ID (libp2p peer ID) of an ed25519
// public key.
func NodeIDFromPublicKey(pub ed25519.PublicKey) (peer.ID, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	k, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", err
	}
	return peer.IDFromPublicKey(k)
}

// Load reads the identity in dir. It returns ErrNoIdentity when there is
// no node key, and refuses key files that group or others can read.
func Load(dir string) (*Identity, error) {
	nodePath := filepath.Join(dir, NodeKeyFile)
	raw, err := readPrivate(nodePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (run: credmesh init)", ErrNoIdentity, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	nodeKey, err := parseNodeKey(raw)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", nodePath, err)
	}
	agePath := filepath.Join(dir, AgeKeyFile)
	raw, err = readPrivate(agePath)
	if err != nil {
		return nil, fmt.Errorf("read age key: %w", err)
	}
	ageKey, err := parseAgeKey(raw)
	if err != nil {
		return nil, fmt.Errorf("age key %s: %w", agePath, err)
	}
	nodeID, err := NodeIDFromPublicKey(nodeKey.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", nodePath, err)
	}
	return &Identity{NodeID: nodeID, nodeKey: nodeKey, ageKey: ageKey}, nil
}

// LoadOrCreate loads the identity in dir, creating the data dir (0700)
// and whichever key file is missing (0600). It never overwrites a key.
// created reports whether any key was made.
func LoadOrCreate(dir string, now time.Time) (id *Identity, created bool, err error) {
	if _, err := EnsureDataDir(dir); err != nil {
		return nil, false, err
	}
	nodePath := filepath.Join(dir, NodeKeyFile)
	if ok, err := missing(nodePath); err != nil {
		return nil, false, err
	} else if ok {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, fmt.Errorf("generate node key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, false, fmt.Errorf("encode node key: %w", err)
		}
		data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := writeNew(nodePath, data); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("write node key: %w", err)
		}
		created = true
	}
	agePath := filepath.Join(dir, AgeKeyFile)
	if ok, err := missing(agePath); err != nil {
		return nil, false, err
	} else if ok {
		k, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, false, fmt.Errorf("generate age key: %w", err)
		}
		data := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n",
			now.UTC().Format(time.RFC3339), k.Recipient(), k)
		if err := writeNew(agePath, []byte(data)); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("write age key: %w", err)
		}
		created = true
	}
	id, err = Load(dir)
	return id, created, err
}

func missing(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	return false, err
}

func parseNodeKey(raw []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ed25519", k)
	}
	return priv, nil
}

func parseAgeKey(raw []byte) (*age.X25519Identity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("holds %d identities, want 1", len(ids))
	}
	k, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("identity is %T, want X25519", ids[0])
	}
	return k, nil
}
