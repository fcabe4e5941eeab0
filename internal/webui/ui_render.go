package webui

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/credmesh/credmesh/internal/web"
)

// render writes a page; r's flash and error query parameters are shown.
func (u *UI) render(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, data any) {
	u.write(w, r, code, name, u.signedIn(r, title, nav, data))
}

// renderError writes a page that comes back with err shown above it
// (a refused form, filled in again).
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, err error, data any) {
	if code >= 500 {
		u.Log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	p := u.signedIn(r, title, nav, data)
	p.Error = err.Error()
	u.write(w, r, code, name, p)
}

// signedIn is a page for a signed-in user: navigation and status bar.
func (u *UI) signedIn(r *http.Request, title, nav string, data any) page {
	st, err := u.API.Node.Status(r.Context())
	if err != nil {
		u.Log.Warn("status for page", "err", err)
	}
	return page{Title: title, Nav: nav, Self: u.API.Self, Status: st, Data: data}
}

// renderBare writes a page for someone not signed in: no navigation, no
// status, nothing about the node.
func (u *UI) renderBare(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	u.write(w, r, code, name, page{Title: title, Bare: true, Data: data})
}

// pagePool holds the buffers pages are rendered into.
var pagePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled is the largest buffer kept for reuse (a revealed 1 MiB
// secret makes a bigger page; that buffer is dropped).
const maxPooled = 256 << 10

// write renders the page into a buffer and sends it only when the whole
// template ran: a template error never sends half a page with 200. It
// sends a 500 with the error page instead, and logs at ERROR (a person
// must fix the template).
func (u *UI) write(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	if p.Error == "" {
		p.Flash, p.Error = r.URL.Query().Get("done"), r.URL.Query().Get("error")
	}
	buf := pagePool.Get().(*bytes.Buffer)
	defer func() {
		// A page may hold a revealed secret: wipe it before reuse.
		clear(buf.Bytes())
		buf.Reset()
		if buf.Cap() <= maxPooled {
			pagePool.Put(buf)
		}
	}()
	buf.Reset()
	if err := u.execute(buf, name, p); err != nil {
		u.Log.Error("render page", "page", name, "path", r.URL.Path, "err", err)
		clear(buf.Bytes())
		buf.Reset()
		ep := page{Title: "This page could not be shown", Nav: p.Nav, Self: p.Self, Status: p.Status, Bare: p.Bare,
			Data: "The node failed to render it; nothing was changed. Its log has the details."}
		if name == "error" || u.execute(buf, "error", ep) != nil {
			http.Error(w, "internal error: the page could not be rendered; the node's log has the details", http.StatusInternalServerError)
			return
		}
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// execute runs page name's template into buf.
func (u *UI) execute(buf *bytes.Buffer, name string, p page) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	return t.ExecuteTemplate(buf, "layout", p)
}

// fail renders an error page with the status the error maps to.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := web.StatusOf(err)
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

// noRoute answers what no route takes: a styled "page not found" (or
// "method not allowed", with its Allow header) instead of Go's bare text.
// A signed-in user gets the navigation; anyone else the bare page, which
// shows nothing about the node. The mux's own answer (a redirect to a
// cleaned path) passes through.
func (u *UI) noRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &codeRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		var title, msg string
		switch rec.code {
		case http.StatusNotFound:
			title, msg = "Page not found", "There is no page at "+r.URL.Path+"."
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			title, msg = "Method not allowed", r.Method+" is not allowed on "+r.URL.Path+": pages change nothing on GET, and forms post."
		default:
			mux.ServeHTTP(w, r)
			return
		}
		if !u.Guard.Authorized(r) {
			u.renderBare(w, r, rec.code, "error", title, msg)
			return
		}
		u.render(w, r, rec.code, "error", title, "", msg)
	})
}
