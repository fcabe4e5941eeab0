package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// TokenCookie carries the web token after a login.
const TokenCookie = "credmesh_token"

// Guard is the web listener's security: a Host allowlist (DNS rebinding
// is answered 403), a token when the listener is not loopback-only,
// cross-origin protection for unsafe methods, request body limits and the
// response headers every page gets.
type Guard struct {
	// Hosts are the Host header values accepted (without port): localhost
	// names and the bound address, plus what the operator adds.
	Hosts map[string]bool
	// Token, when set, must be presented (cookie or Authorization: Bearer)
	// by every request but the login page and static assets.
	Token string
	cop   *http.CrossOriginProtection
}

// NewGuard returns the guard for a listener bound to addr; token is
// required unless addr is a loopback address.
func NewGuard(addr string, token string, extraHosts ...string) *Guard {
	g := &Guard{Hosts: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}, cop: http.NewCrossOriginProtection()}
	host, _, err := net.SplitHostPort(addr)
	if err == nil && host != "" {
		g.Hosts[strings.Trim(host, "[]")] = true
	}
	for _, h := range extraHosts {
		g.Hosts[h] = true
	}
	if !IsLoopback(addr) {
		g.Token = token
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
func (g *Guard) Wrap(h http.Handler) http.Handler {
	inner := g.cop.Handler(g.auth(h))
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

// auth requires the token, when one is set.
func (g *Guard) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Token == "" || r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/") || g.Authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="credmesh"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a token is required (Authorization: Bearer TOKEN; the token is web.token in the data dir)"})
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// Authorized reports whether r presents the token (constant-time compare).
func (g *Guard) Authorized(r *http.Request) bool {
	if g.Token == "" {
		return true
	}
	var got string
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimPrefix(a, "Bearer ")
	} else if c, err := r.Cookie(TokenCookie); err == nil {
		got = c.Value
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(g.Token)) == 1
}
