package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/credmesh/credmesh/internal/api"
)

func (u *UI) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := u.API.AuditPage(r.Context(), q.Get("type"), q.Get("node"), q.Get("secret"), q.Get("before"), 50)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	next := url.Values{"type": {q.Get("type")}, "node": {q.Get("node")}, "secret": {q.Get("secret")}, "before": {fmt.Sprint(page.Next)}}
	data := struct {
		Events             []api.Event
		Type, Node, Secret string
		Next               int64
		NextURL            string
	}{page.Events, q.Get("type"), q.Get("node"), q.Get("secret"), page.Next, "/audit?" + next.Encode()}
	u.render(w, r, http.StatusOK, "audit", "Audit log", "audit", data)
}
