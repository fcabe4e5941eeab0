package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
)

// eventView is an audit entry with its nodes named by hostname and short
// ID instead of raw node IDs.
type eventView struct {
	api.Event
	NodeRef nodeRef
	Text    string // the message, node IDs named
}

func (u *UI) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	hosts, ps, err := u.API.Hostnames(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// The node filter takes what NODE arguments take (a hostname, a
	// prefix); anything else (a stranger's ID) is matched as given.
	node := strings.TrimSpace(q.Get("node"))
	if id, err := replica.ResolveNode(ps, u.API.Self.ID, u.API.Self.Hostname, node); err == nil {
		node = string(id)
	}
	page, err := u.API.AuditPage(r.Context(), q.Get("type"), node, q.Get("secret"), q.Get("before"), 50)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	name := namer(hosts)
	events := make([]eventView, 0, len(page.Events))
	for _, e := range page.Events {
		events = append(events, eventView{Event: e, NodeRef: nodeRef{ID: e.Node, Host: hosts[record.NodeID(e.Node)]}, Text: name.Replace(e.Message)})
	}
	next := url.Values{"type": {q.Get("type")}, "node": {q.Get("node")}, "secret": {q.Get("secret")}, "before": {fmt.Sprint(page.Next)}}
	data := struct {
		Events             []eventView
		Type, Node, Secret string
		Next               int64
		NextURL            string
	}{events, q.Get("type"), q.Get("node"), q.Get("secret"), page.Next, "/audit?" + next.Encode()}
	u.render(w, r, http.StatusOK, "audit", "Audit log", "audit", data)
}

// namer replaces the node IDs in a message, whole or as their short
// prefix, with "hostname (short ID)" for every node with a known
// hostname. Whole IDs come first in the list, so they win over their
// own prefix.
func namer(hosts map[record.NodeID]string) *strings.Replacer {
	var whole, short []string
	for id, h := range hosts {
		if h == "" {
			continue
		}
		named := h + " (" + id.Short() + ")"
		whole = append(whole, string(id), named)
		short = append(short, id.Short(), named)
	}
	return strings.NewReplacer(append(whole, short...)...)
}
