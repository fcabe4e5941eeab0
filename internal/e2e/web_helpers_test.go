package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// webToken reads a node's web token, as a script of its operator would.
func webToken(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "web.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// webDo makes a request to a node's web listener with its token.
func webDo(t *testing.T, n *meshNode, method, path string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, n.status().Web+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+webToken(t, n.dataDir))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// loginURL asks the node for a one-time login URL, as `credmesh ui` does.
func (n *meshNode) loginURL() string {
	n.t.Helper()
	u := strings.TrimSpace(mustCLI(n.t, n.dataDir, "ui"))
	if !strings.Contains(u, "/login?code=") {
		n.t.Fatalf("credmesh ui printed %q", u)
	}
	return u
}

// signIn follows a login URL the way a browser does (the page posts its
// code) and returns a client holding the session cookie.
func signIn(t *testing.T, loginURL string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	u, err := url.Parse(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="login-code"`) {
		t.Fatalf("login page %s: %d\n%s", loginURL, resp.StatusCode, page)
	}
	req, _ := http.NewRequest(http.MethodPost, u.Scheme+"://"+u.Host+"/login", strings.NewReader(url.Values{"code": {u.Query().Get("code")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Fatalf("signing in with %s ended at %s with %d", loginURL, resp.Request.URL, resp.StatusCode)
	}
	return c
}
