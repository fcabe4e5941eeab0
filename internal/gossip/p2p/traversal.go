package p2p

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// maxWhy caps the reason shown for an unreachable member.
const maxWhy = 300

// DecideFor is Decide from the command line's strings: --reachability,
// --listen and --announce, against the machine's interface addresses
// (debug logs why those are unknown, if they are).
func DecideFor(reachability string, listen, announce []string, debug func(string, ...any)) (Reachability, error) {
	r, err := ParseReachability(reachability)
	if err != nil {
		return "", err
	}
	ann, err := ParseAnnounce(announce)
	if err != nil {
		return "", err
	}
	var ls []ma.Multiaddr
	for _, s := range listen {
		if a, err := ma.NewMultiaddr(s); err == nil {
			ls = append(ls, a)
		}
	}
	ifaces, err := manet.InterfaceMultiaddrs()
	if err != nil {
		debug("interface addresses unknown", "err", err)
	}
	return Decide(r, ls, ann, ifaces), nil
}

// DialWhy shortens a dial error to what went wrong at each address that
// could have worked: addresses that are this node's own (a peer's
// loopback) are left out, and addresses still in backoff from an earlier
// failure are only named when nothing else failed.
func DialWhy(err error) string {
	var de *swarm.DialError
	var why string
	switch {
	case errors.Is(err, swarm.ErrNoAddresses):
		why = "no address known"
	case errors.As(err, &de) && len(de.DialErrors) > 0:
		var failed, backoff []string
		for _, te := range de.DialErrors {
			switch {
			case errors.Is(te.Cause, swarm.ErrDialToSelf):
			case errors.Is(te.Cause, swarm.ErrDialBackoff):
				backoff = append(backoff, te.Address.String())
			default:
				if part := te.Address.String() + ": " + te.Cause.Error(); !slices.Contains(failed, part) {
					failed = append(failed, part)
				}
			}
		}
		switch {
		case len(failed) > 0:
			why = strings.Join(failed, "; ")
		case len(backoff) > 0:
			why = "failed recently, retrying later: " + strings.Join(backoff, " ")
		default:
			why = "only this node's own addresses known"
		}
	default:
		why = err.Error()
	}
	if len(why) > maxWhy {
		why = why[:maxWhy-3] + "..."
	}
	return why
}

// Punches keeps each peer's last hole punch outcome. libp2p calls Trace
// from its own goroutines.
type Punches struct {
	mu  sync.Mutex
	ok  map[peer.ID]bool
	why map[peer.ID]string
	log func(msg string, args ...any)
}

// NewPunches keeps outcomes, logging each with log.
func NewPunches(log func(string, ...any)) *Punches {
	return &Punches{ok: map[peer.ID]bool{}, why: map[peer.ID]string{}, log: log}
}

// Trace implements holepunch.EventTracer.
func (p *Punches) Trace(evt *holepunch.Event) {
	end, ok := evt.Evt.(*holepunch.EndHolePunchEvt)
	if !ok {
		return
	}
	p.log("hole punch", "peer", evt.Remote, "ok", end.Success, "took", end.EllapsedTime, "err", end.Error)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ok[evt.Remote] = end.Success
	if end.Success {
		delete(p.why, evt.Remote)
	} else {
		p.why[evt.Remote] = end.Error
	}
}

// Outcome is p's last hole punch: whether it worked, and why not.
func (p *Punches) Outcome(id peer.ID) (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok[id], p.why[id]
}

// Forget drops p's outcome when its last connection closed.
func (p *Punches) Forget(id peer.ID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ok, id)
	delete(p.why, id)
}

// MemberRelays lists up to num of members with a public direct address
// in the peerstore (from their tickets, node records and identify): the
// relays a private node may reserve a slot on. It reads the peerstore
// only, never the store, so autorelay may call it from its goroutine.
func MemberRelays(ps peerstore.Peerstore, members []peer.ID, num int) <-chan peer.AddrInfo {
	var out []peer.AddrInfo
	for _, p := range members {
		if len(out) == num {
			break
		}
		var addrs []ma.Multiaddr
		for _, a := range ps.Addrs(p) {
			if IsPublic(a) {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) > 0 {
			out = append(out, peer.AddrInfo{ID: p, Addrs: addrs})
		}
	}
	ch := make(chan peer.AddrInfo, len(out))
	for _, ai := range out {
		ch <- ai
	}
	close(ch)
	return ch
}
