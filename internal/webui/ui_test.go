package webui

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// A fixed world: keys from fixed seeds, a fixed clock.
var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func idOf(k ed25519.PrivateKey) record.NodeID { return record.NodeIDOf(k.Public().(ed25519.PublicKey)) }

// recordingBackend stands in for the node and its commands in these tests: it serves a fixed
// status and records every state-changing call, so the security matrix
// can count what got through. The real node backend is exercised by the
// end-to-end tests.
type recordingBackend struct {
	self    record.NodeID
	reach   map[string]api.Reach
	revoked *api.Revocation // this node's status says it was revoked
	mu      sync.Mutex
	calls   []string
}

func (b *recordingBackend) note(c string) {
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
}

func (b *recordingBackend) changes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *recordingBackend) Status(context.Context) (api.Status, error) {
	if b.revoked != nil {
		return api.Status{NodeID: string(b.self), Hostname: "alpha", Role: "revoked", Revoked: b.revoked}, nil
	}
	return api.Status{NodeID: string(b.self), Hostname: "alpha", AgeRecipient: "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
		Version: "v1.0.0-test", StartedAt: fixedNow.Add(-time.Hour), UptimeSeconds: 3600, DataDir: "/var/lib/credmesh",
		Role:        "admin",
		Counts:      api.Counts{Events: 3, Members: 2, Online: 1, Pending: 1, Secrets: 2, Records: map[string]int{"node": 3, "secret": 2}, Rejects: map[string]int{"not_member": 4}, Dropped: map[string]int{"not a member": 7}},
		Gossip:      api.Gossip{BytesIn: 5120, BytesOut: 2048},
		Credentials: api.Credentials{State: "ok", Dir: "/etc/credstore.encrypted", Written: 1, Key: "host"}}, nil
}
func (b *recordingBackend) Ticket(context.Context) (api.Ticket, error) {
	return api.Ticket{NodeID: string(b.self), Ticket: "credmesh1testticket"}, nil
}
func (b *recordingBackend) AddPeer(_ context.Context, _, role string) (api.AddPeerResult, error) {
	b.note("add peer as " + role)
	return api.AddPeerResult{NodeID: "x", Added: true, Admitted: true, Role: role}, nil
}
func (b *recordingBackend) SetSecret(_ context.Context, r api.SetSecret) (api.SecretWrites, error) {
	b.note("set " + r.Name)
	return api.SecretWrites{Writes: []api.SecretWrite{{Name: r.Name}}}, nil
}
func (b *recordingBackend) RevealSecret(_ context.Context, name string) (api.Revealed, error) {
	b.note("reveal " + name)
	return api.Revealed{Name: name, Version: 2, Value: []byte("s3cret <b>value</b>")}, nil
}
func (b *recordingBackend) ShareSecret(_ context.Context, name string, to []string) (api.SecretWrites, error) {
	b.note("share " + name)
	return api.SecretWrites{}, nil
}
func (b *recordingBackend) DeleteSecret(_ context.Context, name string, _ []string) (api.SecretWrites, error) {
	b.note("delete " + name)
	return api.SecretWrites{}, nil
}
func (b *recordingBackend) Invite(_ context.Context, _, role string) (api.InviteResult, error) {
	b.note("invite as " + role)
	return api.InviteResult{Ticket: "credmesh1invite", Role: role}, nil
}
func (b *recordingBackend) Approve(_ context.Context, node, role string) (record.NodeID, error) {
	b.note("approve " + node + " as " + role)
	return record.NodeID(node), nil
}
func (b *recordingBackend) Ignore(_ context.Context, node string) (record.NodeID, error) {
	b.note("ignore " + node)
	return record.NodeID(node), nil
}
func (b *recordingBackend) Revoke(_ context.Context, node, _ string) (record.NodeID, error) {
	b.note("revoke " + node)
	return record.NodeID(node), nil
}
func (b *recordingBackend) SetRole(_ context.Context, node, role string) (record.NodeID, error) {
	b.note("role " + node + " " + role)
	return record.NodeID(node), nil
}
func (b *recordingBackend) PeerScore(context.Context, string) (float64, bool)   { return 0, false }
func (b *recordingBackend) Reach(context.Context) (map[string]api.Reach, error) { return b.reach, nil }
func (b *recordingBackend) Sync(_ context.Context, node string) (api.SyncResult, error) {
	b.note("sync " + node)
	return api.SyncResult{Target: node}, nil
}

// world builds a store with: this node (alpha), a member bravo with a
// node record and sysinfo, a pending node with a hostile hostname, a
// secret for bravo in two versions with bravo's receipt, and audit events.
func world(t *testing.T) (*web.API, *recordingBackend) {
	t.Helper()
	alpha, bravo, evil := key(1), key(2), key(3)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	r := replica.New(replica.Config{Store: st, Self: idOf(alpha), Hostname: "alpha", Now: func() time.Time { return fixedNow }})
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddTrust(ctx, store.Trusted{NodeID: idOf(bravo), Source: store.TrustTicket, Role: record.RoleNode}); err != nil {
		t.Fatal(err)
	}
	seal := func(k ed25519.PrivateKey, kind record.Kind, seq uint64, body []byte) *record.Envelope {
		e, err := record.Seal(k, kind, seq, fixedNow.Add(-time.Duration(100-seq)*time.Minute), body)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	group := bytes.Repeat([]byte{7}, record.GroupSize)
	ct := append([]byte("age-encryption.org/v1\n"), bytes.Repeat([]byte{1}, 100)...)
	sec := func(v uint64) []byte {
		return record.Secret{Name: "db-password", Target: bravo.Public().(ed25519.PublicKey), Version: v, CreatedAt: fixedNow.Add(-time.Duration(10-v) * time.Minute),
			Ciphertext: ct, Restart: []string{"web.service"}, Group: group}.Encode()
	}
	own := func(name string, v uint64, tombstone bool) []byte {
		s := record.Secret{Name: name, Target: alpha.Public().(ed25519.PublicKey), Version: v, CreatedAt: fixedNow.Add(-time.Duration(20-v) * time.Minute),
			Tombstone: tombstone, Group: bytes.Repeat([]byte{byte(len(name))}, record.GroupSize)}
		if !tombstone {
			s.Ciphertext = ct
		}
		return s.Encode()
	}
	envs := []*record.Envelope{
		seal(bravo, record.KindNode, 1, record.Node{Hostname: "bravo", AgeRecipient: "age1bravo", Addrs: []string{"/ip4/10.0.0.2/tcp/7101"}, AgentVersion: "v1.0.0", StartedAt: fixedNow.Add(-2 * time.Hour)}.Encode()),
		seal(bravo, record.KindSysinfo, 2, record.Sysinfo{CollectedAt: fixedNow.Add(-time.Minute), Uptime: 90 * time.Minute, Load1: 250, Load5: 200, Load15: 150,
			MemTotal: 8 << 30, MemUsed: 2 << 30, MemAvailable: 6 << 30,
			Disks:      []record.Disk{{Mountpoint: "/", FSType: "ext4", Total: 100 << 30, Used: 42 << 30, Free: 58 << 30}},
			Interfaces: []record.Interface{{Name: "eth0", MAC: "52:54:00:00:00:02", Up: true, Addrs: []string{"10.0.0.2/24"}}}}.Encode()),
		seal(alpha, record.KindSecret, 3, sec(1)),
		seal(alpha, record.KindSecret, 4, sec(2)),
		// This node's own record, sysinfo and secrets: api-key is
		// written here, old-token was deleted (every copy a tombstone).
		seal(alpha, record.KindNode, 6, record.Node{Hostname: "alpha", AgeRecipient: "age1alpha", Addrs: []string{"/ip4/10.0.0.1/tcp/7101", "/ip4/10.0.0.1/udp/7101/quic-v1"}, AgentVersion: "v1.0.0-test", StartedAt: fixedNow.Add(-time.Hour)}.Encode()),
		seal(alpha, record.KindSysinfo, 7, record.Sysinfo{CollectedAt: fixedNow.Add(-2 * time.Minute), Uptime: 30 * time.Hour, Load1: 120, Load5: 90, Load15: 60,
			MemTotal: 16 << 30, MemUsed: 5 << 30, MemAvailable: 11 << 30,
			Disks:      []record.Disk{{Mountpoint: "/", FSType: "ext4", Total: 200 << 30, Used: 150 << 30, Free: 50 << 30}, {Mountpoint: "/var", FSType: "xfs", Total: 50 << 30, Used: 47 << 30, Free: 3 << 30}},
			Interfaces: []record.Interface{{Name: "eth0", MAC: "52:54:00:00:00:01", Up: true, Addrs: []string{"10.0.0.1/24", "fd00::1/64"}}, {Name: "lo", Up: true, Addrs: []string{"127.0.0.1/8"}}}}.Encode()),
		seal(alpha, record.KindSecret, 8, own("api-key", 1, false)),
		seal(alpha, record.KindSecret, 9, own("old-token", 1, false)),
		seal(alpha, record.KindSecret, 10, own("old-token", 2, true)),
	}
	outs, err := r.Apply(ctx, envs, replica.Source{Via: replica.Gossip})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	receipts := []*record.Envelope{
		seal(bravo, record.KindReceipt, 5, record.Receipt{Name: "db-password", Version: 2, Secret: envs[3].ID(), State: record.ReceiptWritten, At: fixedNow.Add(-30 * time.Second)}.Encode()),
		seal(alpha, record.KindReceipt, 11, record.Receipt{Name: "api-key", Version: 1, Secret: envs[6].ID(), State: record.ReceiptWritten, At: fixedNow.Add(-3 * time.Minute)}.Encode()),
		seal(alpha, record.KindReceipt, 12, record.Receipt{Name: "old-token", Version: 2, Secret: envs[8].ID(), State: record.ReceiptRemoved, At: fixedNow.Add(-4 * time.Minute)}.Encode()),
	}
	if outs, err := r.Apply(ctx, receipts, replica.Source{Via: replica.Gossip}); err != nil {
		t.Fatal(err)
	} else {
		for _, o := range outs {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
	}
	_ = st.SetLiveness(ctx, fixedNow, []store.Liveness{{NodeID: idOf(bravo), LastSeen: fixedNow.Add(-5 * time.Second), Online: true}})
	// The hostile node said hello an hour ago.
	earlier := replica.New(replica.Config{Store: st, Self: idOf(alpha), Now: func() time.Time { return fixedNow.Add(-time.Hour) }})
	if err := earlier.Load(ctx); err != nil {
		t.Fatal(err)
	}
	hostile := record.Node{Hostname: "<script>alert(1)</script>"}
	if _, err := earlier.Hello(ctx, seal(evil, record.KindNode, 1, hostile.Encode()), hostile, "/ip4/10.0.0.9/tcp/4001", "10.0.0.9"); err != nil {
		t.Fatal(err)
	}
	for i, e := range []store.Event{
		{Type: "node.start", Node: string(idOf(alpha)), Message: "node started"},
		{Type: "secret.created", Node: string(idOf(alpha)), Secret: "db-password", Message: "created db-password version 1"},
		{Type: "record.rejected", Node: string(idOf(evil)), Message: "rejected node: <img src=x onerror=alert(1)>"},
		{Type: "secret.received", Node: string(idOf(bravo)), Secret: "db-password", Message: "received version 2 of db-password for " + idOf(bravo).Short()},
	} {
		e.Time = fixedNow.Add(time.Duration(i-10) * time.Minute)
		if err := st.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	b := &recordingBackend{self: idOf(alpha), reach: map[string]api.Reach{
		string(idOf(bravo)): {How: api.ReachHolePunched, Addr: "/ip4/198.51.100.7/udp/7101/quic-v1"}}}
	return &web.API{Self: web.Self{ID: idOf(alpha), Hostname: "alpha"}, Node: b, Secrets: b, Trust: b, Mesh: b, Replica: r, Store: st,
		Log: slog.New(slog.DiscardHandler)}, b
}

// testToken is the web token of the test UIs.
const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func uiHandler(t *testing.T, a *web.API, addr string) (http.Handler, *web.Guard) {
	t.Helper()
	g := web.NewGuard(addr, testToken, func() time.Time { return fixedNow })
	ui := &UI{API: a, Guard: g, Now: func() time.Time { return fixedNow }, Log: a.Log}
	h, err := ui.Handler(a.Handler(), web.NewMetrics(a.Node).Handler())
	if err != nil {
		t.Fatal(err)
	}
	return h, g
}

// bearer signs a request in with the token.
func bearer(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }

// get makes a signed-in GET (mods may change that).
func get(t *testing.T, h http.Handler, target string, mod ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7100"+target, nil)
	bearer(r)
	for _, m := range mod {
		m(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPagesGolden(t *testing.T) {
	a, _ := world(t)
	h, _ := uiHandler(t, a, "127.0.0.1:7100")
	bravo := string(idOf(key(2)))
	noAuth := func(r *http.Request) { r.Header.Del("Authorization") }
	for _, tc := range []struct {
		name, path string
		code       int // default 200
		mod        func(*http.Request)
	}{
		{name: "dashboard", path: "/"},
		{name: "peers", path: "/peers"},
		{name: "peer", path: "/peers/" + bravo},
		{name: "secrets", path: "/secrets"},
		{name: "secrets-filtered", path: "/secrets?node=bravo"},
		{name: "new", path: "/secrets/new"},
		{name: "secret", path: "/secrets/db-password"},
		{name: "delete", path: "/secrets/db-password/delete"},
		{name: "audit", path: "/audit?type=record.rejected"},
		{name: "audit-all", path: "/audit"},
		{name: "peer-self", path: "/peers/alpha"},
		{name: "secret-deleted", path: "/secrets/old-token"},
		{name: "new-again", path: "/secrets/new?name=old-token&target=" + string(idOf(key(1))) + "&target=" + bravo},
		{name: "revoke", path: "/peers/bravo/revoke"},
		{name: "promote", path: "/peers/bravo/promote"},
		{name: "demote", path: "/peers/bravo/demote"},
		{name: "invite", path: "/peers/invite"},
		{name: "notfound", path: "/no/such/page", code: http.StatusNotFound},
		{name: "notfound-bare", path: "/no/such/page", code: http.StatusNotFound, mod: noAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*http.Request)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			w := get(t, h, tc.path, mods...)
			if want := cmp.Or(tc.code, http.StatusOK); w.Code != want {
				t.Fatalf("GET %s = %d\n%s", tc.path, w.Code, w.Body.String())
			}
			golden := filepath.Join("testdata", "golden", tc.name+".html")
			if *update {
				_ = os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, w.Body.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/webui -run TestPagesGolden -update)", err)
			}
			if !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatalf("GET %s differs from %s (run with -update after checking the change):\n%s", tc.path, golden, lineDiff(string(want), w.Body.String()))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(uint64(i+1)) + ":\nwant: " + w + "\n got: " + g
		}
	}
	return "(same lines)"
}

func itoa(v uint64) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + fmtUint(v))
}

func fmtUint(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

// The security matrix: hostile requests, each refused, none reaching the
// backend, every response carrying the framing and sniffing headers.
func TestSecurityMatrix(t *testing.T) {
	a, b := world(t)
	local, g := uiHandler(t, a, "127.0.0.1:7100")
	remote, _ := uiHandler(t, a, "0.0.0.0:7100")
	form := func(method, target string, body string, mod ...func(*http.Request)) *http.Request {
		r := httptest.NewRequest(method, "http://127.0.0.1:7100"+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, m := range mod {
			m(r)
		}
		return r
	}
	host := func(h string) func(*http.Request) { return func(r *http.Request) { r.Host = h } }
	hdr := func(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }
	for _, tc := range []struct {
		name string
		h    http.Handler
		req  *http.Request
		want int
	}{
		{"foreign Host on GET", local, form("GET", "/", "", host("evil.example"), bearer), 403},
		{"foreign Host on POST", local, form("POST", "/secrets", "name=x&content=y", host("evil.example:7100"), bearer), 403},
		{"rebinding Host on the API", local, form("GET", "/api/v1/status", "", host("attacker.test"), bearer), 403},
		{"mismatched Origin", local, form("POST", "/secrets", "name=x&content=y", hdr("Origin", "http://evil.example"), bearer), 403},
		{"Sec-Fetch-Site cross-site", local, form("POST", "/peers", "ticket=x", hdr("Sec-Fetch-Site", "cross-site"), bearer), 403},
		{"cross-site API write", local, form("POST", "/api/v1/sync", "{}", hdr("Sec-Fetch-Site", "cross-site"), bearer), 403},
		{"reveal via GET", local, form("GET", "/secrets/db-password/reveal", "", bearer), 405},
		{"API reveal via GET", local, form("GET", "/api/v1/secrets/db-password/reveal", "", bearer), 405},
		{"sync via GET", local, form("GET", "/peers/x/sync", "", bearer), 405},
		{"share via GET", local, form("GET", "/secrets/db-password/share?to=bravo", "", bearer), 405},
		{"no sign-in on loopback: a page", local, form("GET", "/secrets", ""), 303},
		{"no sign-in on loopback: the API", local, form("GET", "/api/v1/status", ""), 401},
		{"no sign-in on loopback: a reveal", local, form("POST", "/api/v1/secrets/db-password/reveal", ""), 401},
		{"no sign-in on loopback: a form post", local, form("POST", "/secrets", "name=x&content=y"), 401},
		{"no sign-in on loopback: metrics", local, form("GET", "/metrics", ""), 401},
		{"no sign-in on loopback: a login URL", local, form("POST", "/api/v1/ui/login", ""), 401},
		{"missing token on a non-loopback bind", remote, form("GET", "/api/v1/status", ""), 401},
		{"wrong token", remote, form("GET", "/api/v1/secrets", "", hdr("Authorization", "Bearer nope")), 401},
		{"a token-shaped cookie is no session", local, form("GET", "/secrets", "", hdr("Cookie", g.CookieName()+"="+testToken)), 303},
		{"wrong session cookie on a page", remote, form("GET", "/secrets", "", hdr("Cookie", g.CookieName()+"=nope")), 303},
		{"no token on a write", remote, form("POST", "/secrets", "name=x&content=y"), 401},
		{"metrics without a token", remote, form("GET", "/metrics", ""), 401},
		{"oversized body", local, form("POST", "/api/v1/secrets", strings.Repeat("x", api.MaxRequestBody+1), bearer), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, tc.req)
			if w.Code != tc.want {
				t.Fatalf("%s %s: status %d, want %d\n%s", tc.req.Method, tc.req.URL, w.Code, tc.want, w.Body.String())
			}
			if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
				!strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("security headers missing: %v", w.Header())
			}
		})
	}
	if c := b.changes(); len(c) != 0 {
		t.Fatalf("hostile requests reached the backend: %v", c)
	}
	ok := get(t, remote, "/api/v1/status")
	if ok.Code != 200 {
		t.Fatalf("the right token: %d", ok.Code)
	}

	// Peer-supplied strings are escaped.
	peers := get(t, local, "/peers").Body.String()
	if strings.Contains(peers, "<script>alert(1)</script>") || !strings.Contains(peers, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("a hostile hostname is not escaped on the peers page")
	}
	audit := get(t, local, "/audit").Body.String()
	if strings.Contains(audit, "<img src=x") {
		t.Fatal("a hostile audit message is not escaped")
	}
	// No inline script anywhere: the CSP would block it, so pages carry none.
	for _, p := range []string{"/", "/peers", "/secrets", "/secrets/new", "/secrets/db-password", "/audit"} {
		body := get(t, local, p).Body.String()
		if strings.Count(body, "<script") != strings.Count(body, `<script src="/static/app.js" defer></script>`) || strings.Contains(body, "style=") || strings.Contains(body, " onclick") {
			t.Fatalf("%s has inline script or style", p)
		}
	}
	// The confirmation page of a delete changes nothing; the POST does.
	get(t, local, "/secrets/db-password/delete")
	if c := b.changes(); len(c) != 0 {
		t.Fatalf("GET of the delete page changed state: %v", c)
	}
}

// Signing in: a login URL works once and gives an HttpOnly, SameSite
// Strict session cookie with an expiry; the token works too; a wrong one
// or a used code gets nothing; signing out ends the session; the login
// page tells a stranger nothing about the node.
func TestLogin(t *testing.T) {
	a, _ := world(t)
	h, g := uiHandler(t, a, "127.0.0.1:7100")
	post := func(target, body string, mod ...func(*http.Request)) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://127.0.0.1:7100"+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, m := range mod {
			m(r)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	noAuth := func(r *http.Request) { r.Header.Del("Authorization") }
	page := get(t, h, "/login", noAuth).Body.String()
	for _, secret := range []string{"alpha", "v1.0.0-test", "statusbar", "credmesh1"} {
		if strings.Contains(page, secret) {
			t.Errorf("the login page shows %q to someone not signed in", secret)
		}
	}
	code, _ := g.LoginCode(web.LoginCodeTTL)
	if p := get(t, h, "/login?code="+code, noAuth).Body.String(); !strings.Contains(p, `id="login-code"`) || !strings.Contains(p, code) {
		t.Fatalf("the login URL's page has no form posting the code:\n%s", p)
	}
	w := post("/login", "code="+code)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("login with a code: %d, cookies %v", w.Code, cookies)
	}
	c := cookies[0]
	if c.Name != g.CookieName() || !strings.HasPrefix(c.Name, web.SessionCookie+"_") || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Expires.IsZero() || c.MaxAge <= 0 || c.Value == code || c.Value == testToken {
		t.Fatalf("session cookie %+v", c)
	}
	withCookie := func(r *http.Request) { noAuth(r); r.AddCookie(&http.Cookie{Name: g.CookieName(), Value: c.Value}) }
	if w := get(t, h, "/secrets", withCookie); w.Code != 200 {
		t.Fatalf("the session does not open a page: %d", w.Code)
	}
	if w := post("/login", "code="+code); len(w.Result().Cookies()) != 0 || !strings.Contains(w.Header().Get("Location"), "error=") {
		t.Fatal("a login URL worked twice")
	}
	if w := post("/login", "token=wrong"); len(w.Result().Cookies()) != 0 {
		t.Fatal("a wrong token got a cookie")
	}
	if w := post("/login", "token="+testToken); len(w.Result().Cookies()) != 1 {
		t.Fatal("the right token got no session")
	}
	if w := post("/logout", "", withCookie); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := get(t, h, "/secrets", withCookie); w.Code != http.StatusSeeOther {
		t.Fatalf("the session still works after signing out: %d", w.Code)
	}
	expired, _ := g.LoginCode(-time.Second)
	if w := post("/login", "code="+expired); len(w.Result().Cookies()) != 0 {
		t.Fatal("an expired login URL worked")
	}
}

// A revoked node's pages carry a banner saying who revoked it, when and
// why; the others none.
func TestRevokedBanner(t *testing.T) {
	a, b := world(t)
	h, _ := uiHandler(t, a, "127.0.0.1:7100")
	if strings.Contains(get(t, h, "/").Body.String(), "banner revoked") {
		t.Fatal("a banner on a node that is not revoked")
	}
	b.revoked = &api.Revocation{By: []string{string(idOf(key(2)))}, At: fixedNow, Reason: "laptop stolen"}
	for _, p := range []string{"/", "/secrets", "/peers"} {
		body := get(t, h, p).Body.String()
		if !strings.Contains(body, `class="banner revoked"`) || !strings.Contains(body, "laptop stolen") || !strings.Contains(body, "refuses every write") {
			t.Fatalf("%s on a revoked node has no banner:\n%s", p, body)
		}
	}
}

// Reveal is POST only, uncached, escaped, and same-origin posts work.
func TestRevealAndForms(t *testing.T) {
	a, b := world(t)
	h, _ := uiHandler(t, a, "127.0.0.1:7100")
	post := func(target string, vals url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://127.0.0.1:7100"+target, strings.NewReader(vals.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://127.0.0.1:7100")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		bearer(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := post("/secrets/db-password/reveal", nil)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if !strings.Contains(w.Body.String(), "s3cret &lt;b&gt;value&lt;/b&gt;") {
		t.Fatalf("revealed value not shown escaped:\n%s", w.Body.String())
	}
	w = post("/secrets", url.Values{"name": {"api-key"}, "content": {"x"}, "target": {"bravo"}, "restart": {"a.service b.service"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/secrets/api-key?done=") {
		t.Fatalf("create: %d %s", w.Code, w.Header().Get("Location"))
	}
	w = post("/peers/bravo/sync", nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sync: %d", w.Code)
	}
	want := []string{"reveal db-password", "set api-key", "sync bravo"}
	if got := b.changes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("backend calls %v, want %v", got, want)
	}
	_, _ = io.Discard.Write(nil)
}

func TestMetrics(t *testing.T) {
	a, _ := world(t)
	m := web.NewMetrics(a.Node)
	m.ObserveDelivery(3 * time.Millisecond)
	m.CredentialWritten()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{`credmesh_peers{state="online"} 1`, `credmesh_records{kind="secret"} 2`, `credmesh_rejects_total{reason="not_member"} 4`,
		"credmesh_credential_writes_total 1", "credmesh_gossip_delivery_seconds_count 1", "credmesh_credential_failures_total 0",
		`credmesh_gossip_bytes_total{direction="in"} 5120`, `credmesh_gossip_dropped_total{reason="not a member"} 7`, `credmesh_gossip_bytes_total{direction="out"} 2048`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
