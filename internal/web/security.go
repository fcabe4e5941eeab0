package web

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// Guard is the web listener's security: a Host allowlist (DNS rebinding
// is answered 403), authentication on every route, loopback included (on
// a shared machine loopback is no privilege boundary), cross-origin
// protection for unsafe methods, request body limits and the response
// headers every page gets.
type Guard struct {
	// Hosts are the Host header values accepted (without port): localhost
	// names and the bound address, plus what the operator adds.
	Hosts map[string]bool
	// Token must be presented (Authorization: Bearer) by every request
	// but the login page and static assets, unless the browser has a
	// session from a login (with a one-time code or the token).
	Token    string
	cop      *http.CrossOriginProtection
	sessions *sessions
	cookie   string
}

// NewGuard returns the guard for a listener bound to addr that requires
// token (or a session). now is the clock sessions expire by (nil: the
// wall clock).
func NewGuard(addr, token string, now func() time.Time, extraHosts ...string) *Guard {
	g := &Guard{Hosts: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}, Token: token,
		cop: http.NewCrossOriginProtection(), sessions: newSessions(now), cookie: cookieName(token)}
	host, _, err := net.SplitHostPort(addr)
	if err == nil && host != "" {
		g.Hosts[strings.Trim(host, "[]")] = true
	}
	for _, h := range extraHosts {
		g.Hosts[h] = true
	}
	return g
}

// IsLoopback reports whether a listen address is loopback-only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Wrap applies the guard to h.
func (g *Guard) Wrap(h http.Handler) http.Handler { return g.Public(g.auth(h)) }

// Public applies everything but the sign-in check: the headers, the Host
// allowlist and cross-origin protection. It is for answers that tell a
// stranger nothing, such as "no such page".
func (g *Guard) Public(h http.Handler) http.Handler {
	inner := g.cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !g.Hosts[strings.Trim(host, "[]")] {
			http.Error(w, "forbidden: unexpected Host header (DNS rebinding protection)", http.StatusForbidden)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// auth requires the token or a session on every route but the login page
// and static assets. A browser is sent to the login page; API clients
// get 401.
func (g *Guard) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/") || g.Authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || r.Method != http.MethodGet {
			w.Header().Set("WWW-Authenticate", `Bearer realm="credmesh"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first: run `credmesh ui` for a login URL, or send Authorization: Bearer TOKEN (the token is web.token in the data dir)"})
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}
