package webui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/web"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// UI serves the HTML pages. Pages read through the API's queries and
// change things only through the API's interfaces, and only on POST.
type UI struct {
	API   *web.API
	Guard *web.Guard
	Now   func() time.Time
	Log   *slog.Logger

	pages map[string]*template.Template
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string
	Self   web.Self
	Status api.Status
	Flash  string
	Error  string
	Data   any
	// Bare pages (the login page) show nothing about the node.
	Bare bool
}

// nodeRef names a node for links and choices: by hostname and short ID
// (several machines are often called the same).
type nodeRef struct {
	ID      string
	Host    string
	Self    bool
	Checked bool // ticked in a form
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
	routed := u.Guard.Wrap(web.LimitBody(mux))
	unrouted := u.Guard.Public(u.noRoute(mux))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unrouted.ServeHTTP(w, r)
			return
		}
		routed.ServeHTTP(w, r)
	}), nil
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
