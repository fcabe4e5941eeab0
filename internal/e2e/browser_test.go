package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credmesh/credmesh/internal/testenv"
)

// browser starts headless Chromium (Debian's, driven with chromedp) and
// returns a context for it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Need(t, "chromium is not installed (Debian's chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: $CREDMESH_ARTIFACTS, else a
// temporary directory.
func artifacts(t *testing.T) string {
	if d := os.Getenv("CREDMESH_ARTIFACTS"); d != "" {
		_ = os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

// screenshot saves the whole page as dir/name.png. The viewport is
// stretched to the page's height first, so the fixed status bar is drawn
// at the end of the page and not over its middle.
func screenshot(t *testing.T, ctx context.Context, dir, name string) []byte {
	t.Helper()
	h := eval[int64](t, ctx, `Math.ceil(document.documentElement.scrollHeight)`)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, max(h, 900))); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	return png
}

// docScreenshot is a screenshot for the docs: with UPDATE_SCREENSHOTS=1
// it is also written to docs/screenshots. Only TestPageWalk takes them,
// so `UPDATE_SCREENSHOTS=1 go test ./internal/e2e -run TestPageWalk`
// regenerates every one.
func docScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := screenshot(t, ctx, dir, name)
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("wait for %s: %v", sel, err)
	}
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval runs a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// A real browser against a three-node cluster: create a secret through
// the form, see it listed, share it, reveal it on the target, request a
// sync on another peer, follow a peer link, filter by node, delete it.
func TestWebUIInBrowser(t *testing.T) {
	a, b, c, ids := trio(t)
	ctx := browser(t)
	shots := artifacts(t)
	urlA, urlB := a.status().Web, b.status().Web
	if urlA == "" || urlB == "" {
		t.Fatal("no web UI URL in status")
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Not signed in, every page is the login page; the URL from
	// `credmesh ui` signs the browser in (one node at a time).
	run("not signed in", chromedp.Navigate(urlA+"/secrets"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := textOf(t, ctx, "h1"); h != "Sign in" {
		t.Fatalf("without a session /secrets shows %q", h)
	}
	run("sign in on alpha", chromedp.Navigate(a.loginURL()), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	run("sign in on bravo", chromedp.Navigate(b.loginURL()), chromedp.WaitVisible(chromedp.CSS("dl.facts")))

	// The dashboard shows this node's ID, recipient and ticket with copy buttons.
	run("dashboard", chromedp.Navigate(urlA+"/"), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if body := textOf(t, ctx, "main"); !strings.Contains(body, ids[a]) || !strings.Contains(body, "credmesh1") {
		t.Fatalf("dashboard lacks the node ID or ticket:\n%s", body)
	}
	if copies := eval[int](t, ctx, `document.querySelectorAll("button.copy").length`); copies < 3 {
		t.Fatalf("%d copy buttons on the dashboard, want at least 3", copies)
	}
	screenshot(t, ctx, shots, "dashboard")

	// Create through the form: for bravo only.
	run("new secret form",
		chromedp.Navigate(urlA+"/secrets/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "browser-secret"),
		chromedp.SendKeys(chromedp.CSS("#content"), "from the browser"),
		chromedp.Click(chromedp.CSS(`input[name=target][value="`+ids[a]+`"]`)), // uncheck this node
		chromedp.Click(chromedp.CSS(`input[name=target][value="`+ids[b]+`"]`)),
		chromedp.SendKeys(chromedp.CSS("#restart"), "web.service"),
	)
	screenshot(t, ctx, shots, "new-secret")
	run("submit", chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	if f := textOf(t, ctx, "p.flash"); !strings.Contains(f, "wrote browser-secret for 1 target") {
		t.Fatalf("flash after create: %q", f)
	}

	// Listed on the secrets page, with bravo as target.
	run("secrets page", chromedp.Navigate(urlA+"/secrets"), chromedp.WaitVisible(chromedp.CSS("table.secrets")))
	if body := textOf(t, ctx, "table.secrets"); !strings.Contains(body, "browser-secret") || !strings.Contains(body, "bravo") {
		t.Fatalf("secrets page:\n%s", body)
	}

	// Share with charlie from the detail page.
	run("share",
		chromedp.Navigate(urlA+"/secrets/browser-secret"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=to][value="`+ids[c]+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name=to][value="`+ids[c]+`"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/share"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if f := textOf(t, ctx, "p.flash"); !strings.Contains(f, "shared browser-secret with 1") {
		t.Fatalf("flash after share: %q", f)
	}
	eventually(t, 30*time.Second, "both rollouts written (live refresh)", func() bool {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#targets td.rollout.written").length`))
		return n == 2
	}, nil)
	screenshot(t, ctx, shots, "secret-detail")

	// Reveal on the target, then hide.
	waitValue(t, b, "browser-secret", []byte("from the browser"))
	run("reveal on bravo",
		chromedp.Navigate(urlB+"/secrets/browser-secret"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reveal"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#revealed")),
	)
	if v := textOf(t, ctx, "#revealed"); v != "from the browser" {
		t.Fatalf("revealed %q", v)
	}
	run("hide", chromedp.Click(chromedp.Search(`//a[text()="Hide"]`)), chromedp.WaitVisible(chromedp.CSS("#targets")))
	if !eval[bool](t, ctx, `document.getElementById("revealed") === null`) {
		t.Fatal("the value is still on the page after Hide")
	}

	// Request a sync on another peer: the form posts and succeeds.
	run("sync bravo",
		chromedp.Navigate(urlA+"/peers/"+ids[b]),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/sync"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/sync"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if f := textOf(t, ctx, "p.flash"); !strings.Contains(f, "asked "+ids[b]) {
		t.Fatalf("flash after sync: %q", f)
	}
	eventually(t, 30*time.Second, "bravo receives the sync request", func() bool {
		return auditCount(t, b, "sync.received", "") == 1
	}, nil)
	screenshot(t, ctx, shots, "peer-detail")

	// Follow a peer link from the peers page.
	run("peers page", chromedp.Navigate(urlA+"/peers"), chromedp.WaitVisible(chromedp.CSS("#peers")))
	screenshot(t, ctx, shots, "peers")
	run("follow link", chromedp.Click(chromedp.CSS(`tr[data-node="`+ids[c]+`"] a`)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := textOf(t, ctx, "h1"); h != "charlie" {
		t.Fatalf("peer link led to %q", h)
	}
	// Promote charlie through the confirmation page, then demote it.
	for _, step := range []struct{ link, flash, role string }{
		{"Promote to admin…", "promoted to admin", "admin"},
		{"Demote to node…", "demoted to node", "node"},
	} {
		run(step.link,
			chromedp.Navigate(urlA+"/peers/"+ids[c]),
			chromedp.Click(chromedp.Search(`//a[text()="`+step.link+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`button.danger`)),
		)
		if step.role == "admin" {
			screenshot(t, ctx, shots, "promote")
		}
		run("confirm", chromedp.Click(chromedp.CSS(`button.danger`)), chromedp.WaitVisible(chromedp.CSS("p.flash")))
		if f := textOf(t, ctx, "p.flash"); !strings.Contains(f, step.flash) {
			t.Fatalf("flash after %s: %q", step.link, f)
		}
		eventually(t, 30*time.Second, "charlie is "+step.role+" everywhere", func() bool {
			for _, n := range []*meshNode{b, c} {
				if n == c {
					if n.status().Role != step.role {
						return false
					}
					continue
				}
				if p, ok := find(n.peers(), ids[c]); !ok || p.Role != step.role {
					return false
				}
			}
			return true
		}, nil)
	}
	run("view secrets link", chromedp.Navigate(urlA+"/peers"), chromedp.Click(chromedp.CSS(`tr[data-node="`+ids[c]+`"] a[href^="/secrets?node="]`)),
		chromedp.WaitVisible(chromedp.CSS("table.secrets")))
	if body := textOf(t, ctx, "table.secrets"); !strings.Contains(body, "charlie") || strings.Contains(body, "bravo") {
		t.Fatalf("?node= filter for charlie shows:\n%s", body)
	}
	screenshot(t, ctx, shots, "secrets")

	// Delete, through the confirmation page.
	run("delete",
		chromedp.Navigate(urlA+"/secrets/browser-secret"),
		chromedp.Click(chromedp.CSS(`a.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`button.danger`)),
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if f := textOf(t, ctx, "p.flash"); !strings.Contains(f, "deleted browser-secret for 2") {
		t.Fatalf("flash after delete: %q", f)
	}
	run("audit", chromedp.Navigate(urlA+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if body := textOf(t, ctx, "table.audit"); !strings.Contains(body, "secret.deleted") || !strings.Contains(body, "secret.shared") {
		t.Fatalf("audit page lacks the deletion or the share:\n%s", body)
	}
	screenshot(t, ctx, shots, "audit")

	// Signing out ends the session.
	run("sign out", chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	run("after signing out", chromedp.Navigate(urlA+"/secrets"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if h := textOf(t, ctx, "h1"); h != "Sign in" {
		t.Fatalf("after signing out /secrets shows %q", h)
	}
	t.Logf("screenshots in %s", shots)
}
