package p2p

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// CheckListenFree fails when a fixed port this node is to listen on is
// already taken. libp2p's TCP transport binds with SO_REUSEPORT (so that
// outgoing connections can share the listen port), and two processes
// that both do so share the port silently, each getting a part of the
// inbound connections; a plain bind first makes a second daemon fail at
// start instead. Port 0 (any free port) is not checked.
func CheckListenFree(listen []string) error {
	for _, s := range listen {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", s, err)
		}
		network, hostport, err := manet.DialArgs(addr)
		if err != nil {
			continue // not an IP address (libp2p reports it)
		}
		if _, port, err := net.SplitHostPort(hostport); err != nil || port == "0" {
			continue
		}
		var probe interface{ Close() error }
		switch network {
		case "tcp", "tcp4", "tcp6":
			probe, err = net.Listen(network, hostport)
		case "udp", "udp4", "udp6":
			probe, err = net.ListenPacket(network, hostport)
		default:
			continue
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen address %s: %s port %s is already in use (another credmesh daemon?); choose another with --listen", s, network, hostport)
		}
		if err == nil {
			probe.Close()
		}
	}
	return nil
}
