package p2p

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// A fixed port another process holds is refused with a clear error, for
// TCP and for QUIC's UDP; a free port and port 0 pass.
func TestCheckListenFree(t *testing.T) {
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	ul, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	tcpPort, udpPort := tl.Addr().(*net.TCPAddr).Port, ul.LocalAddr().(*net.UDPAddr).Port
	for _, c := range []struct {
		name, addr string
		busy       bool
	}{
		{"tcp taken", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", tcpPort), true},
		{"quic taken", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", udpPort), true},
		{"tcp any port", "/ip4/127.0.0.1/tcp/0", false},
		{"quic any port", "/ip4/127.0.0.1/udp/0/quic-v1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckListenFree([]string{c.addr})
			if c.busy != (err != nil) {
				t.Fatalf("CheckListenFree(%s) = %v, want busy=%v", c.addr, err, c.busy)
			}
			if c.busy && !strings.Contains(err.Error(), "already in use") {
				t.Fatalf("error %q does not say the port is in use", err)
			}
		})
	}
	if err := CheckListenFree([]string{"/not/a/multiaddr"}); err == nil {
		t.Fatal("a malformed listen address passed")
	}
}
