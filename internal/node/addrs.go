package node

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/credmesh/credmesh/internal/identity"
	ma "github.com/multiformats/go-multiaddr"
)

// DefaultPort is the default QUIC (UDP) and TCP listen port.
const DefaultPort = 7101

// localAddrs returns dialable addresses for this machine on the default
// port: every up interface's global or private address (IPv4 first), then
// loopback, at most identity.MaxTicketAddrs. It is what a ticket carries
// when no daemon runs to report the addresses it actually listens on.
func localAddrs() []ma.Multiaddr {
	var global, loop []netip.Addr
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		as, _ := ifc.Addrs()
		for _, a := range as {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pfx.Addr().Unmap()
			switch {
			case ip.IsLoopback():
				loop = append(loop, ip)
			case ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified():
			default:
				global = append(global, ip)
			}
		}
	}
	var out []ma.Multiaddr
	for _, ip := range append(sortV4First(global), sortV4First(loop)...) {
		proto := "ip4"
		if ip.Is6() {
			proto = "ip6"
		}
		for _, tr := range []string{fmt.Sprintf("/udp/%d/quic-v1", DefaultPort), fmt.Sprintf("/tcp/%d", DefaultPort)} {
			a, err := ma.NewMultiaddr("/" + proto + "/" + ip.String() + tr)
			if err == nil && len(out) < identity.MaxTicketAddrs {
				out = append(out, a)
			}
		}
	}
	return out
}

func sortV4First(ips []netip.Addr) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, ip := range ips {
		if ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	return append(v4, v6...)
}

// OfflineTicket is the ticket of id when no daemon is running: its node ID
// and this machine's addresses on the default port.
func OfflineTicket(id *identity.Identity) identity.Ticket {
	return identity.NewTicket(id, localAddrs())
}

// webHosts are the extra Host header values the web UI accepts for a
// listen address: for an unspecified address (0.0.0.0, ::) the machine's
// hostname and every interface address.
func webHosts(addr, hostname string) []string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return nil
	}
	out := []string{hostname}
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		as, _ := ifc.Addrs()
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				out = append(out, p.Addr().Unmap().String())
			}
		}
	}
	return out
}
