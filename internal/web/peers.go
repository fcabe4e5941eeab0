package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

func (a *API) peers(w http.ResponseWriter, r *http.Request) {
	ps, err := a.Replica.Peers(r.Context())
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	reach, err := a.Node.Reach(r.Context())
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	out := api.Peers{Peers: make([]api.Peer, 0, len(ps))}
	all := r.URL.Query().Get("all") != ""
	for _, p := range ps {
		if p.Ignored && !p.Member && !all {
			continue // ignored pending nodes stop being listed
		}
		out.Peers = append(out.Peers, withReach(PeerView(p), reach))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) peer(w http.ResponseWriter, r *http.Request) {
	d, err := a.PeerDetail(r.Context(), r.PathValue("node"))
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) addPeer(w http.ResponseWriter, r *http.Request) {
	var req api.AddPeer
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, a.Log, err)
		return
	}
	res, err := a.Mesh.AddPeer(r.Context(), req.Ticket, req.Role)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// withReach adds how a member is reached.
func withReach(p api.Peer, reach map[string]api.Reach) api.Peer {
	if r, ok := reach[p.NodeID]; ok && p.State == api.StateMember {
		p.Reach = &r
	}
	return p
}

// PeerDetail resolves node and returns what is known of it, with its
// latest sysinfo.
func (a *API) PeerDetail(ctx context.Context, node string) (api.PeerDetail, error) {
	id, ps, err := a.resolve(ctx, node)
	if err != nil {
		return api.PeerDetail{}, err
	}
	var d api.PeerDetail
	for _, p := range ps {
		if p.NodeID == id {
			d.Peer = PeerView(p)
		}
	}
	switch {
	case id == a.Self.ID:
		if d.Peer, err = a.SelfView(ctx); err != nil {
			return api.PeerDetail{}, err
		}
	case d.NodeID == "":
		d.Peer = api.Peer{NodeID: string(id), State: api.StateMember, Addrs: []string{}}
	}
	if sc, ok := a.Node.PeerScore(ctx, string(id)); ok {
		d.Score = &sc
	}
	if id != a.Self.ID {
		reach, err := a.Node.Reach(ctx)
		if err != nil {
			return api.PeerDetail{}, err
		}
		d.Peer = withReach(d.Peer, reach)
	}
	rec, ok, err := a.Store.Latest(ctx, record.KindSysinfo, string(id))
	if err != nil {
		return api.PeerDetail{}, err
	}
	if ok {
		if e, err := record.Open(rec.Raw); err == nil {
			if s, err := record.DecodeSysinfo(e.Body); err == nil {
				d.Sysinfo = SysinfoView(s)
			}
		}
	}
	return d, nil
}

// SelfView is this node as a peer: online, started when it started, its
// role in its own view, and what its latest node record announces (the
// store's peer list never holds this node).
func (a *API) SelfView(ctx context.Context) (api.Peer, error) {
	st, err := a.Node.Status(ctx)
	if err != nil {
		return api.Peer{}, err
	}
	p := api.Peer{NodeID: string(a.Self.ID), Hostname: a.Self.Hostname, State: api.StateMember, Role: st.Role, Online: true,
		AgeRecipient: st.AgeRecipient, AgentVersion: st.Version, StartedAt: timePtr(st.StartedAt), Addrs: []string{}, Self: true}
	if st.Revoked != nil {
		p.State, p.Role = api.StateRevoked, ""
	}
	rec, ok, err := a.Store.Latest(ctx, record.KindNode, string(a.Self.ID))
	if err != nil {
		return api.Peer{}, err
	}
	if ok {
		if e, err := record.Open(rec.Raw); err == nil {
			if n, err := record.DecodeNode(e.Body); err == nil && n.Addrs != nil {
				p.Addrs = n.Addrs
			}
		}
	}
	return p, nil
}

// Self names this node for Resolve.
type Self struct {
	ID       record.NodeID
	Hostname string
}

// resolve resolves a NODE argument against the store's peers.
func (a *API) resolve(ctx context.Context, q string) (record.NodeID, []store.Peer, error) {
	ps, err := a.Replica.Peers(ctx)
	if err != nil {
		return "", nil, err
	}
	id, err := replica.ResolveNode(ps, a.Self.ID, a.Self.Hostname, q)
	return id, ps, err
}

// PeerView converts a stored peer for the API.
func PeerView(p store.Peer) api.Peer {
	v := api.Peer{
		NodeID: string(p.NodeID), Hostname: p.Hostname, Online: p.Online && p.Member,
		AgeRecipient: p.AgeRecipient, AgentVersion: p.AgentVersion, Addrs: p.Addrs, SeenAddrs: p.SeenAddrs,
		Trust: p.Trust, LastSeen: timePtr(p.LastSeen), FirstSeen: timePtr(p.FirstSeen), StartedAt: timePtr(p.StartedAt),
	}
	if v.Addrs == nil {
		v.Addrs = []string{}
	}
	switch {
	case p.Revoked:
		v.State = api.StateRevoked
	case p.Member:
		v.State, v.Role = api.StateMember, p.Role.String()
	case p.Ignored:
		v.State = api.StateIgnored
	default:
		v.State = api.StatePending
	}
	return v
}

// SysinfoView converts a sysinfo record for the API.
func SysinfoView(s record.Sysinfo) *api.Sysinfo {
	v := &api.Sysinfo{
		CollectedAt: s.CollectedAt.UTC(), UptimeSeconds: int64(s.Uptime.Seconds()),
		Load:     [3]float64{float64(s.Load1) / 1000, float64(s.Load5) / 1000, float64(s.Load15) / 1000},
		MemTotal: s.MemTotal, MemUsed: s.MemUsed, MemAvailable: s.MemAvailable,
		Disks: []api.Disk{}, Interfaces: []api.Interface{},
	}
	for _, d := range s.Disks {
		pct := 0.0
		if d.Total > 0 {
			pct = float64(d.Used) * 100 / float64(d.Total)
		}
		v.Disks = append(v.Disks, api.Disk{Mountpoint: d.Mountpoint, FSType: d.FSType, Total: d.Total, Used: d.Used, Free: d.Free, UsedPercent: pct})
	}
	for _, i := range s.Interfaces {
		addrs := i.Addrs
		if addrs == nil {
			addrs = []string{}
		}
		v.Interfaces = append(v.Interfaces, api.Interface{Name: i.Name, MAC: i.MAC, Up: i.Up, Addrs: addrs})
	}
	return v
}

// decodeJSON decodes a JSON request body strictly (the size cap is
// applied to every request by LimitBody).
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if StatusOf(err) == http.StatusRequestEntityTooLarge {
			return err
		}
		return fmt.Errorf("%w: body: %v", api.ErrInvalid, err)
	}
	return nil
}
