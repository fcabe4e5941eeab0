package webui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/web"
)

func (u *UI) peers(w http.ResponseWriter, r *http.Request) {
	ps, err := u.API.Replica.Peers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	self, err := u.API.SelfView(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	reach, err := u.API.Node.Reach(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// This node first, marked as such: it is a member like the others.
	var data struct{ Members, Pending []api.Peer }
	data.Members = append(data.Members, self)
	for _, p := range ps {
		v := web.PeerView(p)
		if rc, ok := reach[v.NodeID]; ok && v.State == api.StateMember {
			v.Reach = &rc
		}
		switch v.State {
		case api.StatePending:
			data.Pending = append(data.Pending, v)
		case api.StateIgnored:
		default:
			data.Members = append(data.Members, v)
		}
	}
	u.render(w, r, http.StatusOK, "peers", "Peers", "peers", data)
}

func (u *UI) addPeer(w http.ResponseWriter, r *http.Request) {
	res, err := u.API.Mesh.AddPeer(r.Context(), strings.TrimSpace(r.FormValue("ticket")), r.FormValue("role"))
	if err != nil {
		back(w, r, "/peers", "", err)
		return
	}
	msg := "added " + res.NodeID + " as " + res.Role
	switch {
	case !res.Added:
		msg = res.NodeID + " was already trusted"
	case !res.Admitted && !res.Joined:
		msg += ", trusted here only: this node is not an admin, so it admits nobody"
	}
	back(w, r, "/peers", msg, nil)
}

func (u *UI) peer(w http.ResponseWriter, r *http.Request) {
	d, err := u.API.PeerDetail(r.Context(), r.PathValue("node"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	list, err := u.API.SecretsList(r.Context(), d.NodeID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	data := struct {
		Peer    api.Peer
		Sysinfo *api.Sysinfo
		Score   *float64
		Secrets []api.Secret
		IsSelf  bool
	}{d.Peer, d.Sysinfo, d.Score, list.Secrets, d.NodeID == string(u.API.Self.ID)}
	title := d.Hostname
	if title == "" {
		title = d.NodeID
	}
	u.render(w, r, http.StatusOK, "peer", title, "peers", data)
}

func (u *UI) syncPeer(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	res, err := u.API.Mesh.Sync(r.Context(), node)
	msg := "asked " + res.Target + " to rewrite its credentials"
	if res.Local {
		msg = "rewriting this node's credentials"
	}
	back(w, r, "/peers/"+url.PathEscape(node), msg, err)
}

// peerAction approves, ignores, revokes, promotes or demotes a node (POST
// only).
func (u *UI) peerAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		node := r.PathValue("node")
		id, err := u.API.PeerAction(r.Context(), node, action, api.PeerAction{Role: r.FormValue("role"), Reason: r.FormValue("reason")})
		to := "/peers"
		if action != "approve" && action != "ignore" {
			to = "/peers/" + url.PathEscape(node)
		}
		done := map[string]string{"approve": "approved", "ignore": "ignored", "revoke": "revoked", "promote": "promoted to admin", "demote": "demoted to node"}[action]
		back(w, r, to, done+" "+string(id), err)
	}
}

// confirm shows the confirmation page of a revoke, promote or demote.
func (u *UI) confirm(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := u.API.PeerDetail(r.Context(), r.PathValue("node"))
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data := struct {
			api.Peer
			Action string
		}{d.Peer, action}
		title := map[string]string{"revoke": "Revoke ", "promote": "Promote ", "demote": "Demote "}[action] + d.NodeID
		u.render(w, r, http.StatusOK, action, title, "peers", data)
	}
}

func (u *UI) invitePage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "invite", "Invite a node", "peers", api.InviteResult{})
}

func (u *UI) makeInvite(w http.ResponseWriter, r *http.Request) {
	res, err := u.API.Mesh.Invite(r.Context(), r.FormValue("expires"), r.FormValue("role"))
	if err != nil {
		back(w, r, "/peers/invite", "", err)
		return
	}
	u.render(w, r, http.StatusOK, "invite", "Invite a node", "peers", res)
}
