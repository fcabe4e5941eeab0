package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SessionCookie starts the name of the cookie that carries a browser's
// session after a login. The full name ends with a tag of the node's
// token, because cookies are per host, not per port: two nodes on one
// machine (the demo, a test cluster) would otherwise sign each other's
// browsers out.
const SessionCookie = "credmesh_session"

// cookieName is the session cookie's name for a node with token.
func cookieName(token string) string {
	sum := sha256.Sum256([]byte("credmesh session cookie\x00" + token))
	return SessionCookie + "_" + hex.EncodeToString(sum[:4])
}

// CookieName returns the name of the session cookie this guard sets.
func (g *Guard) CookieName() string { return g.cookie }

// Lifetimes of what a login hands out.
const (
	// SessionTTL is how long a browser stays signed in.
	SessionTTL = 12 * time.Hour
	// LoginCodeTTL is how long a login URL from `credmesh ui` works (once).
	LoginCodeTTL = 10 * time.Minute
	// maxSessions and maxCodes bound what the server keeps.
	maxSessions = 1024
	maxCodes    = 256
)

// sessions holds signed-in browsers and one-time login codes, in memory
// (a restart signs everyone out). Both are 32 random bytes, hex.
type sessions struct {
	mu    sync.Mutex
	now   func() time.Time
	ids   map[string]time.Time // session ID -> expiry
	codes map[string]time.Time // login code -> expiry
}

func newSessions(now func() time.Time) *sessions {
	if now == nil {
		now = time.Now
	}
	return &sessions{now: now, ids: map[string]time.Time{}, codes: map[string]time.Time{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// trim drops expired entries and, past the cap, the ones expiring first.
func trim(m map[string]time.Time, now time.Time, cap int) {
	for k, exp := range m {
		if !now.Before(exp) {
			delete(m, k)
		}
	}
	for len(m) >= cap {
		var oldest string
		for k, exp := range m {
			if oldest == "" || exp.Before(m[oldest]) {
				oldest = k
			}
		}
		delete(m, oldest)
	}
}

// issue adds a fresh random key to m, valid for ttl, after dropping
// expired keys and, past cap, the ones expiring first.
func (s *sessions) issue(m map[string]time.Time, ttl time.Duration, cap int) (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	trim(m, now, cap)
	key, exp := randomToken(), now.Add(ttl)
	m[key] = exp
	return key, exp
}

// newCode mints a one-time login code valid for ttl.
func (s *sessions) newCode(ttl time.Duration) (string, time.Time) {
	return s.issue(s.codes, ttl, maxCodes)
}

// useCode consumes a login code: true once, before it expires.
func (s *sessions) useCode(code string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.codes[code]
	if !ok {
		return false
	}
	delete(s.codes, code)
	return s.now().Before(exp)
}

// start opens a session and returns its ID and expiry.
func (s *sessions) start() (string, time.Time) { return s.issue(s.ids, SessionTTL, maxSessions) }

// valid reports whether id is a live session.
func (s *sessions) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.ids[id]
	return ok && s.now().Before(exp)
}

// end closes a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

// Authorized reports whether r presents the token (Authorization: Bearer,
// compared in constant time) or a live session cookie.
func (g *Guard) Authorized(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got := strings.TrimPrefix(a, "Bearer ")
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(g.Token)) == 1
	}
	if c, err := r.Cookie(g.cookie); err == nil {
		return g.sessions.valid(c.Value)
	}
	return false
}

// LoginCode mints a one-time login code for the login URL
// (/login?code=CODE), valid for ttl.
func (g *Guard) LoginCode(ttl time.Duration) (string, time.Time) { return g.sessions.newCode(ttl) }

// SignIn checks a login code or the token and, when one is right, starts
// a session and sets its cookie.
func (g *Guard) SignIn(w http.ResponseWriter, code, token string) bool {
	ok := false
	switch {
	case code != "":
		ok = g.sessions.useCode(code)
	case token != "":
		ok = subtle.ConstantTimeCompare([]byte(token), []byte(g.Token)) == 1
	}
	if !ok {
		return false
	}
	id, exp := g.sessions.start()
	http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: id, Path: "/", Expires: exp, MaxAge: int(SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return true
}

// SignOut ends r's session and clears its cookie.
func (g *Guard) SignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(g.cookie); err == nil {
		g.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}
