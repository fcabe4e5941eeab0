package webui

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/web"
)

// testUI is the UI over the test world, with its logs in logs.
func testUI(t *testing.T, a *web.API) (*UI, http.Handler, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	a.Log = slog.New(slog.NewTextHandler(logs, nil))
	ui := &UI{API: a, Guard: web.NewGuard("127.0.0.1:7100", testToken, func() time.Time { return fixedNow }), Now: func() time.Time { return fixedNow }, Log: a.Log}
	h, err := ui.Handler(a.Handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ui, h, logs
}

// A template that fails half way sends none of its page: a 500 with the
// whole error page (navbar to status bar), and an ERROR in the log.
func TestTemplateErrorSendsNoHalfPage(t *testing.T) {
	a, _ := world(t)
	ui, h, logs := testUI(t, a)
	// Break the peer page with a field its data does not have, after
	// some content has been written.
	broken, err := ui.pages["peer"].Clone()
	if err != nil {
		t.Fatal(err)
	}
	ui.pages["peer"] = template.Must(broken.Parse(`{{define "content"}}<h1>half a page</h1>{{.Data.NoSuchField}}<p>the rest</p>{{end}}`))

	w := get(t, h, "/peers/bravo")
	body := w.Body.String()
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
	for _, want := range []string{"This page could not be shown", `class="navbar"`, `id="statusbar"`, "</html>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the error page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "half a page") {
		t.Errorf("the broken page's first half was sent:\n%s", body)
	}
	if got, want := w.Header().Get("Content-Length"), itoa(uint64(len(body))); got != want {
		t.Errorf("Content-Length %q, body %s bytes", got, want)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "render page") || !strings.Contains(l, "NoSuchField") {
		t.Errorf("no ERROR log naming the template error:\n%s", l)
	}
	// The other pages are unaffected.
	if w := get(t, h, "/peers"); w.Code != http.StatusOK {
		t.Errorf("GET /peers after a broken page: %d", w.Code)
	}
}

// What no route takes gets a styled page: with the navigation for a
// signed-in user, bare (nothing about the node) for anyone else; the
// status codes stay 404 and 405.
func TestNoRoute(t *testing.T) {
	a, _ := world(t)
	h, _ := uiHandler(t, a, "127.0.0.1:7100")
	noAuth := func(r *http.Request) { r.Header.Del("Authorization") }
	for _, tc := range []struct {
		name, method, path string
		mod                func(*http.Request)
		code               int
		want, not          []string
	}{
		{"signed in, unknown page", "GET", "/no/such/page", nil, 404,
			[]string{"Page not found", "/no/such/page", `id="statusbar"`, `href="/audit"`}, nil},
		{"signed out, unknown page", "GET", "/no/such/page", noAuth, 404,
			[]string{"Page not found", `href="/login"`}, []string{"alpha", "statusbar", `href="/audit"`, "v1.0.0-test"}},
		{"signed in, GET of a form's action", "GET", "/secrets/db-password/share", nil, 405,
			[]string{"Method not allowed", `id="statusbar"`}, nil},
		{"signed out, GET of a form's action", "GET", "/peers/x/sync", noAuth, 405,
			[]string{"Method not allowed"}, []string{"alpha", "statusbar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:7100"+tc.path, nil)
			bearer(r)
			if tc.mod != nil {
				tc.mod(r)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tc.code {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, w.Code, tc.code)
			}
			if tc.code == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if w.Header().Get("X-Frame-Options") != "DENY" {
				t.Error("no framing header")
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("the page shows %q:\n%s", s, body)
				}
			}
		})
	}
}
