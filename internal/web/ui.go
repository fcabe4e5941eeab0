package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// UI serves the HTML pages. Pages read through the API's queries and
// change things only through the Backend, and only on POST.
type UI struct {
	API   *API
	Guard *Guard
	Now   func() time.Time
	Log   *slog.Logger

	pages map[string]*template.Template
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string
	Self   Self
	Status api.Status
	Flash  string
	Error  string
	Data   any
	// Bare pages (the login page) show nothing about the node.
	Bare bool
}

// nodeRef names a node for links and choices.
type nodeRef struct {
	ID   string
	Host string
	Self bool
}

func (u *UI) funcs() template.FuncMap {
	now := u.Now
	return template.FuncMap{
		"short": func(s string) string {
			if len(s) > 16 {
				return s[:16] + "…"
			}
			return s
		},
		"ago": func(t time.Time) string { return ago(now(), t) },
		"agep": func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return ago(now(), *t)
		},
		"bytes":    bytesIEC,
		"deref":    func(f *float64) float64 { return *f },
		"duration": func(s int64) string { return (time.Duration(s) * time.Second).String() },
	}
}

// Handler returns the UI's routes mounted beside the API and metrics.
func (u *UI) Handler(apiHandler, metrics http.Handler) (http.Handler, error) {
	if err := u.parse(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.Handle(api.Prefix+"/", apiHandler)
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /{$}", u.dashboard)
	mux.HandleFunc("GET /peers", u.peers)
	mux.HandleFunc("POST /peers", u.addPeer)
	mux.HandleFunc("GET /peers/{node}", u.peer)
	mux.HandleFunc("POST /peers/{node}/sync", u.syncPeer)
	mux.HandleFunc("POST /peers/{node}/approve", u.peerAction("approve"))
	mux.HandleFunc("POST /peers/{node}/ignore", u.peerAction("ignore"))
	mux.HandleFunc("GET /peers/{node}/revoke", u.confirm("revoke"))
	mux.HandleFunc("POST /peers/{node}/revoke", u.peerAction("revoke"))
	mux.HandleFunc("GET /peers/{node}/promote", u.confirm("promote"))
	mux.HandleFunc("POST /peers/{node}/promote", u.peerAction("promote"))
	mux.HandleFunc("GET /peers/{node}/demote", u.confirm("demote"))
	mux.HandleFunc("POST /peers/{node}/demote", u.peerAction("demote"))
	mux.HandleFunc("GET /peers/invite", u.invitePage)
	mux.HandleFunc("POST /peers/invite", u.makeInvite)
	mux.HandleFunc("GET /secrets", u.secrets)
	mux.HandleFunc("GET /secrets/new", u.newSecret)
	mux.HandleFunc("POST /secrets", u.createSecret)
	mux.HandleFunc("GET /secrets/{name}", u.secret)
	mux.HandleFunc("POST /secrets/{name}/share", u.shareSecret)
	mux.HandleFunc("GET /secrets/{name}/delete", u.confirmDelete)
	mux.HandleFunc("POST /secrets/{name}/delete", u.deleteSecret)
	mux.HandleFunc("POST /secrets/{name}/reveal", u.reveal)
	mux.HandleFunc("GET /audit", u.audit)
	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("POST /logout", u.logout)
	return u.Guard.Wrap(limitBody(mux)), nil
}

func (u *UI) parse() error {
	u.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		files := []string{"templates/layout.html", n}
		if base == "peer" { // embeds the secrets table
			files = append(files, "templates/secrets.html")
		}
		t, err := template.New("layout").Funcs(u.funcs()).ParseFS(templateFiles, files...)
		if err != nil {
			return fmt.Errorf("template %s: %w", n, err)
		}
		if base == "peer" {
			// peer.html's content wins over the secrets page's.
			if t, err = t.ParseFS(templateFiles, n); err != nil {
				return fmt.Errorf("template %s: %w", n, err)
			}
		}
		u.pages[base] = t
	}
	return nil
}

// render writes a page; r's flash and error query parameters are shown.
func (u *UI) render(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, data any) {
	st, err := u.API.Backend.Status(r.Context())
	if err != nil {
		u.Log.Warn("status for page", "err", err)
	}
	u.write(w, r, code, name, page{Title: title, Nav: nav, Self: u.API.Self, Status: st, Data: data})
}

// renderBare writes a page for someone not signed in: no navigation, no
// status, nothing about the node.
func (u *UI) renderBare(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	u.write(w, r, code, name, page{Title: title, Bare: true, Data: data})
}

func (u *UI) write(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	p.Flash, p.Error = r.URL.Query().Get("done"), r.URL.Query().Get("error")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := u.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		u.Log.Warn("render page", "page", name, "err", err)
	}
}

// fail renders an error page with the status the error maps to.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		u.Log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	u.render(w, r, code, "error", err.Error(), "", nil)
}

// back redirects after a POST (POST, redirect, GET), with a message.
func back(w http.ResponseWriter, r *http.Request, to string, done string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("error", err.Error())
	} else if done != "" {
		q.Set("done", done)
	}
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	t, err := u.API.Backend.Ticket(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "dashboard", "Dashboard", "dashboard", struct{ Ticket string }{t.Ticket})
}

func (u *UI) peers(w http.ResponseWriter, r *http.Request) {
	ps, err := u.API.Store.Peers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var data struct{ Members, Pending []api.Peer }
	for _, p := range ps {
		v := PeerView(p)
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
	res, err := u.API.Backend.AddPeer(r.Context(), strings.TrimSpace(r.FormValue("ticket")), r.FormValue("role"))
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
	if d.NodeID == string(u.API.Self.ID) {
		d.Hostname = u.API.Self.Hostname
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
	res, err := u.API.Backend.Sync(r.Context(), node)
	msg := "asked " + res.Target + " to rewrite its credentials"
	if res.Local {
		msg = "rewriting this node's credentials"
	}
	back(w, r, "/peers/"+url.PathEscape(node), msg, err)
}

// nodes lists this node and the members, for choices.
func (u *UI) nodes(ctx context.Context) ([]nodeRef, error) {
	ps, err := u.API.Store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	out := []nodeRef{{ID: string(u.API.Self.ID), Host: u.API.Self.Hostname, Self: true}}
	for _, p := range ps {
		if p.Member {
			out = append(out, nodeRef{ID: string(p.NodeID), Host: p.Hostname})
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Host < out[1+j].Host })
	return out, nil
}

func (u *UI) secrets(w http.ResponseWriter, r *http.Request) {
	node := r.URL.Query().Get("node")
	list, err := u.API.SecretsList(r.Context(), node)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	label := node
	for _, n := range nodes {
		if n.ID == node && n.Host != "" {
			label = n.Host
		}
	}
	data := struct {
		Secrets   []api.Secret
		Nodes     []nodeRef
		Node      string
		NodeLabel string
	}{list.Secrets, nodes, node, label}
	u.render(w, r, http.StatusOK, "secrets", "Secrets", "secrets", data)
}

func (u *UI) newSecret(w http.ResponseWriter, r *http.Request) {
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	data := struct {
		Nodes         []nodeRef
		Name, Restart string
	}{nodes, r.URL.Query().Get("name"), ""}
	u.render(w, r, http.StatusOK, "new", "New secret", "new", data)
}

// maxUpload caps the form: a 1 MiB secret plus the other fields.
const maxUpload = record.MaxPlaintext + 64<<10

func (u *UI) createSecret(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		back(w, r, "/secrets/new", "", fmt.Errorf("form: %w", err))
		return
	}
	name := strings.TrimSpace(r.FormValue("name"))
	value := []byte(r.FormValue("content"))
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b := make([]byte, record.MaxPlaintext+1)
		n, _ := readFull(f, b)
		if n > record.MaxPlaintext {
			back(w, r, "/secrets/new", "", record.ErrTooLarge)
			return
		}
		if n > 0 {
			value = b[:n]
		}
	}
	req := api.SetSecret{Name: name, Targets: r.Form["target"], Value: value, Restart: strings.Fields(r.FormValue("restart"))}
	res, err := u.API.Backend.SetSecret(r.Context(), req)
	if err != nil {
		back(w, r, "/secrets/new", "", err)
		return
	}
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("wrote %s for %d target(s)", name, len(res.Writes)), nil)
}

func (u *UI) secret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, err := u.API.History(r.Context(), name, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var current []api.SecretVersion
	readable := false
	have := map[string]bool{}
	for _, v := range h.Versions {
		if v.Current {
			current = append(current, v)
			if !v.Tombstone {
				have[v.Target] = true
				if v.Target == string(u.API.Self.ID) {
					readable = true
				}
			}
		}
	}
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var shareTo []nodeRef
	for _, n := range nodes {
		if !have[n.ID] {
			shareTo = append(shareTo, n)
		}
	}
	data := struct {
		Name     string
		Current  []api.SecretVersion
		History  []api.SecretVersion
		Readable bool
		ShareTo  []nodeRef
	}{name, current, h.Versions, readable, shareTo}
	u.render(w, r, http.StatusOK, "secret", "Secret "+name, "secrets", data)
}

func (u *UI) shareSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		back(w, r, "/secrets/"+url.PathEscape(name), "", fmt.Errorf("%w: form: %v", api.ErrInvalid, err))
		return
	}
	res, err := u.API.Backend.ShareSecret(r.Context(), name, r.Form["to"])
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("shared %s with %d node(s)", name, len(res.Writes)), err)
}

func (u *UI) confirmDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := record.ValidName(name); err != nil {
		u.fail(w, r, fmt.Errorf("%w: %v", api.ErrInvalid, err))
		return
	}
	u.render(w, r, http.StatusOK, "delete", "Delete "+name, "secrets", struct{ Name string }{name})
}

func (u *UI) deleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := u.API.Backend.DeleteSecret(r.Context(), name, nil)
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("deleted %s for %d target(s)", name, len(res.Writes)), err)
}

// reveal shows this node's own copy: POST only, never cached.
func (u *UI) reveal(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := u.API.Backend.RevealSecret(r.Context(), name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	data := struct {
		Name         string
		Version      uint64
		Text, Base64 string
	}{Name: name, Version: res.Version}
	if isText(res.Value) {
		data.Text = string(res.Value)
	} else {
		data.Base64 = base64Std(res.Value)
	}
	u.render(w, r, http.StatusOK, "reveal", "Secret "+name, "secrets", data)
}

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

// loginPage asks for the token, or (with ?code= from a login URL) offers
// to sign in with the code; the page's script submits that form at once.
// Nothing changes on GET: the code is used by the POST.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.renderBare(w, r, http.StatusOK, "login", "Sign in", struct{ Code string }{r.URL.Query().Get("code")})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	code, token := strings.TrimSpace(r.FormValue("code")), strings.TrimSpace(r.FormValue("token"))
	if !u.Guard.signIn(w, code, token) {
		why := errors.New("wrong token")
		if code != "" {
			why = errors.New("this login URL was used already or has expired: run `credmesh ui` for a new one")
		}
		back(w, r, "/login", "", why)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	u.Guard.signOut(w, r)
	back(w, r, "/login", "signed out", nil)
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
	res, err := u.API.Backend.Invite(r.Context(), r.FormValue("expires"), r.FormValue("role"))
	if err != nil {
		back(w, r, "/peers/invite", "", err)
		return
	}
	u.render(w, r, http.StatusOK, "invite", "Invite a node", "peers", res)
}
