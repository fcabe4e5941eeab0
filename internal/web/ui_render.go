package web

import (
	"net/http"
	"net/url"
)

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
