package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credmesh/credmesh/internal/api"
)

// pageCheck is what one complete page shows. Every page also has the
// navbar and the status bar, and its title names the node.
type pageCheck struct {
	path   string
	status int      // the HTTP status (default 200)
	h1     string   // the heading, exactly ("": not checked)
	sel    []string // CSS selectors that must match at least once
	text   []string // strings the main content must contain
	not    []string // strings the main content must not contain
	shot   string   // the screenshot's name (docs/screenshots with UPDATE_SCREENSHOTS=1)
}

// checkPage opens base+c.path in the browser and checks that the whole
// page arrived: status, navbar, status bar at the end, heading, the
// sections the page promises. Each miss is reported; the walk goes on.
func checkPage(t *testing.T, ctx context.Context, shots, base, host string, c pageCheck) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+c.path))
	if err != nil {
		t.Errorf("GET %s: %v", c.path, err)
		return
	}
	want := c.status
	if want == 0 {
		want = http.StatusOK
	}
	if int(resp.Status) != want {
		t.Errorf("GET %s: status %d, want %d", c.path, resp.Status, want)
	}
	if title := eval[string](t, ctx, `document.title`); !strings.Contains(title, host) {
		t.Errorf("GET %s: title %q does not name %s", c.path, title, host)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('nav.navbar a[href="/audit"]')`) {
		t.Errorf("GET %s: no navbar", c.path)
	}
	// The status bar is the last thing a page sends: a page cut short by a
	// template error has none.
	footer := eval[string](t, ctx, `(document.querySelector("footer#statusbar") || {}).textContent || ""`)
	if !strings.Contains(footer, "peers:") || !strings.Contains(footer, "secrets:") || !strings.Contains(footer, "credentials:") {
		t.Errorf("GET %s: no status bar (%q): the page was cut short", c.path, footer)
	}
	if c.h1 != "" {
		if h := eval[string](t, ctx, `(document.querySelector("main h1") || {}).textContent || ""`); strings.TrimSpace(h) != c.h1 {
			t.Errorf("GET %s: heading %q, want %q", c.path, h, c.h1)
		}
	}
	for _, s := range c.sel {
		if n := eval[int](t, ctx, `document.querySelectorAll(`+strconv.Quote(s)+`).length`); n == 0 {
			t.Errorf("GET %s: nothing matches %s", c.path, s)
		}
	}
	main := eval[string](t, ctx, `(document.querySelector("main") || {}).innerText || ""`)
	for _, s := range c.text {
		if !strings.Contains(main, s) {
			t.Errorf("GET %s: the page does not say %q", c.path, s)
		}
	}
	for _, s := range c.not {
		if strings.Contains(main, s) {
			t.Errorf("GET %s: the page says %q", c.path, s)
		}
	}
	if t.Failed() {
		t.Logf("GET %s shows:\n%s", c.path, main)
	}
	if c.shot != "" {
		docScreenshot(t, ctx, shots, c.shot)
	}
}

// newSecretThroughForm fills the new-secret form with exactly the given
// targets ticked and submits it.
func newSecretThroughForm(t *testing.T, ctx context.Context, base, name, value string, targets ...string) {
	t.Helper()
	ids, _ := json.Marshal(append([]string{}, targets...))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/secrets/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#content"), value),
	); err != nil {
		t.Fatalf("new secret form: %v", err)
	}
	eval[bool](t, ctx, `(function(ids){document.querySelectorAll("input[name=target]").forEach(function(c){c.checked = ids.indexOf(c.value) >= 0}); return true})(`+string(ids)+`)`)
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS("#name"))); err != nil {
		t.Fatalf("submit new secret %s: %v", name, err)
	}
}

// rolloutWritten reports whether every current copy of name is written.
func rolloutWritten(t *testing.T, n *meshNode, name string, copies int) bool {
	t.Helper()
	resp, body := webDo(t, n, http.MethodGet, "/api/v1/secrets/"+name, nil)
	if resp.StatusCode != http.StatusOK {
		return false
	}
	var h api.SecretHistory
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, v := range h.Versions {
		if v.Current && v.Rollout.State == "written" {
			written++
		}
	}
	return written == copies
}

// The page walk: a real browser visits every page of the UI on each of
// three real daemons and checks that each page arrived whole (status
// bar at the end) and shows what it promises: system information with
// disks and interfaces on every peer's page, this node's own included;
// this node listed among the peers; secrets with their rollout in plain
// words on the dashboard; hostnames with short IDs wherever nodes are
// chosen; a deleted secret offering only what makes sense; an empty
// target list refused; a styled 404, bare when signed out.
func TestPageWalk(t *testing.T) {
	a, b, c, ids := trio(t)
	ctx := browser(t)
	shots := artifacts(t)
	nodes := []*meshNode{a, b, c}
	base := map[*meshNode]string{}
	for _, n := range nodes {
		base[n] = n.status().Web
		if err := chromedp.Do(ctx, chromedp.Navigate(n.loginURL()), chromedp.WaitVisible(chromedp.CSS("dl.facts"))); err != nil {
			t.Fatalf("sign in on %s: %v", n.name, err)
		}
	}

	// State to look at, made through the UI: a secret alpha writes for
	// bravo and charlie, one for alpha itself, and one it deletes.
	newSecretThroughForm(t, ctx, base[a], "walk-shared", "for two", ids[b], ids[c])
	newSecretThroughForm(t, ctx, base[a], "walk-own", "for alpha", ids[a])
	newSecretThroughForm(t, ctx, base[a], "walk-gone", "deleted soon", ids[a])
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base[a]+"/secrets/walk-gone/delete"),
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	); err != nil {
		t.Fatalf("delete walk-gone: %v", err)
	}
	for _, n := range nodes {
		eventually(t, 30*time.Second, n.name+" sees walk-shared written on bravo and charlie", func() bool {
			return rolloutWritten(t, n, "walk-shared", 2)
		}, nil)
	}
	eventually(t, 30*time.Second, "walk-own written on alpha", func() bool { return rolloutWritten(t, a, "walk-own", 1) }, nil)

	for _, n := range nodes {
		t.Run(n.name, func(t *testing.T) {
			var others []*meshNode
			for _, o := range nodes {
				if o != n {
					others = append(others, o)
				}
			}
			shot := func(name string) string {
				if n == a {
					return name
				}
				return ""
			}
			dash := pageCheck{path: "/", h1: "This node", text: []string{ids[n], "Secrets for this node"}, not: []string{"admit records", "node records"}, shot: shot("dashboard")}
			switch n {
			case a:
				dash.text = append(dash.text, "walk-own", "walk-shared", "written on bravo and charlie")
			default:
				dash.text = append(dash.text, "walk-shared", "written")
			}
			pages := []pageCheck{
				dash,
				{path: "/peers", h1: "Peers", sel: []string{`tr[data-node="` + ids[a] + `"]`, `tr[data-node="` + ids[b] + `"]`, `tr[data-node="` + ids[c] + `"]`},
					text: []string{"this node"}, shot: shot("peers")},
				{path: "/peers/" + ids[n], h1: n.name, sel: []string{"table.disks tbody tr", "table.interfaces tbody tr", "table.secrets"},
					text: []string{"System", "Load", "Memory", "Secrets for this node", "this node", "online"}, not: []string{"never", "offline"}, shot: shot("peer-self")},
			}
			for _, o := range others {
				p := pageCheck{path: "/peers/" + ids[o], h1: o.name, sel: []string{"table.disks tbody tr", "table.interfaces tbody tr", "table.secrets"},
					text: []string{"System", "Load", "Memory", "Secrets for this node", "online"}}
				if o == b {
					p.shot = shot("peer-detail")
				}
				pages = append(pages, p)
			}
			newPage := pageCheck{path: "/secrets/new", h1: "New secret", sel: []string{`input[name=target][value="` + ids[n] + `"][checked]`}, shot: shot("new-secret")}
			for _, o := range nodes {
				newPage.text = append(newPage.text, o.name+" "+ids[o][:16])
			}
			pages = append(pages,
				pageCheck{path: "/secrets", h1: "Secrets", sel: []string{"table.secrets"}, text: []string{"walk-shared"}, shot: shot("secrets")},
				pageCheck{path: "/secrets/walk-shared", h1: "Secret walk-shared", sel: []string{"#targets td.rollout.written", "table.history"},
					text: []string{"bravo", "charlie", "History"}, shot: shot("secret-detail")},
				newPage,
				pageCheck{path: "/secrets/walk-shared/delete", h1: "Delete walk-shared?", sel: []string{`form[action$="/delete"] button.danger`}},
				pageCheck{path: "/peers/invite", h1: "Invite a node", sel: []string{`form[action="/peers/invite"] button`}},
				pageCheck{path: "/audit", h1: "Audit log", sel: []string{"table.audit tbody tr td.node"}, text: []string{n.name + " " + ids[n][:16]}, not: []string{"replay"}, shot: shot("audit")},
				pageCheck{path: "/no/such/page", status: http.StatusNotFound, h1: "Page not found", sel: []string{`main a[href="/"]`}, shot: shot("not-found")},
			)
			if n == a { // the admin's confirmation pages
				pages = append(pages,
					pageCheck{path: "/peers/" + ids[b] + "/revoke", h1: "Revoke bravo?", sel: []string{`form[action$="/revoke"] button.danger`}},
					pageCheck{path: "/peers/" + ids[b] + "/promote", h1: "Promote bravo to admin?", sel: []string{`form[action$="/promote"] button.danger`}, shot: "promote"},
					pageCheck{path: "/peers/" + ids[c] + "/demote", h1: "Demote charlie to a plain node?", sel: []string{`form[action$="/demote"] button.danger`}},
				)
			}
			for _, p := range pages {
				checkPage(t, ctx, shots, base[n], n.name, p)
			}
		})
	}

	// A deleted secret offers its history and a new version, not Share
	// or Delete.
	t.Run("deleted secret", func(t *testing.T) {
		checkPage(t, ctx, shots, base[a], "alpha", pageCheck{path: "/secrets/walk-gone", h1: "Secret walk-gone",
			sel:  []string{"table.history", `a[href="/secrets/new?name=walk-gone&target=` + ids[a] + `"]`},
			text: []string{"deleted", "Write a new version"}, shot: "secret-deleted"})
		for _, sel := range []string{`form[action$="/share"]`, `a[href$="/delete"]`, `form[action$="/reveal"]`} {
			if n := eval[int](t, ctx, `document.querySelectorAll(`+strconv.Quote(sel)+`).length`); n != 0 {
				t.Errorf("the deleted secret's page offers %s", sel)
			}
		}
	})

	// "New secret" with every target unticked writes nothing and says why.
	t.Run("no target", func(t *testing.T) {
		newSecretThroughForm(t, ctx, base[a], "walk-nowhere", "for nobody")
		if e := eval[string](t, ctx, `(document.querySelector("p.error") || {}).textContent || ""`); !strings.Contains(e, "at least one target") {
			t.Errorf("empty target list: error %q", e)
		}
		if v := eval[string](t, ctx, `(document.getElementById("name") || {}).value || ""`); v != "walk-nowhere" {
			t.Errorf("the refused form lost its name: %q", v)
		}
		if resp, _ := webDo(t, a, http.MethodGet, "/api/v1/secrets/walk-nowhere", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a secret with no target was written: GET it = %d", resp.StatusCode)
		}
	})

	// Signed out, an unknown URL is the bare 404: nothing about the node.
	t.Run("signed out 404", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base[a]+"/"), chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS("#token"))); err != nil {
			t.Fatalf("sign out: %v", err)
		}
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base[a]+"/no/such/page"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNotFound {
			t.Errorf("signed out, an unknown URL answers %d, want 404", resp.Status)
		}
		if h := eval[string](t, ctx, `(document.querySelector("main h1") || {}).textContent || ""`); h != "Page not found" {
			t.Errorf("signed out 404 heading %q", h)
		}
		body := eval[string](t, ctx, `document.documentElement.outerHTML`)
		for _, leak := range []string{"alpha", ids[a], "statusbar", "/audit", "credmesh1"} {
			if strings.Contains(body, leak) {
				t.Errorf("the signed-out 404 page shows %q", leak)
			}
		}
	})
	t.Logf("screenshots in %s", shots)
}
