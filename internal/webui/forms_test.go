package webui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/api"
)

// "New secret" with every target unticked is refused with the form filled
// in again; nothing reaches the backend.
func TestNewSecretNeedsATarget(t *testing.T) {
	a, b := world(t)
	h, _ := uiHandler(t, a, "127.0.0.1:7100")
	form := url.Values{"name": {"api-key"}, "content": {"v"}, "restart": {"web.service"}}
	r := httptest.NewRequest("POST", "http://127.0.0.1:7100/secrets", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	bearer(r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d, want 400", w.Code)
	}
	for _, want := range []string{"choose at least one target node: nothing was written", `value="api-key"`, `value="web.service"`, `id="statusbar"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form lacks %q:\n%s", want, body)
		}
	}
	// Nothing is ticked on the way back: the user chose nothing.
	if strings.Contains(body, " checked>") {
		t.Errorf("the refused form ticks a target")
	}
	if c := b.changes(); len(c) != 0 {
		t.Fatalf("an empty target list reached the backend: %v", c)
	}
}

func TestMeshWordsAndLists(t *testing.T) {
	for _, tc := range []struct {
		members, online, pending int
		want                     string
	}{
		{0, 0, 0, "No other members yet: add one on the Peers page."},
		{1, 1, 0, "1 other member, online."},
		{3, 3, 1, "3 other members, all online. 1 node waits for approval on the Peers page."},
		{3, 1, 2, "1 of 3 other members online. 2 nodes wait for approval on the Peers page."},
	} {
		c := meshWords(apiCounts(tc.members, tc.online, tc.pending))
		if c != tc.want {
			t.Errorf("meshWords(%d members, %d online, %d pending) = %q, want %q", tc.members, tc.online, tc.pending, c, tc.want)
		}
	}
	for in, want := range map[string]string{"": "", "a": "a", "a,b": "a and b", "a,b,c": "a, b and c"} {
		var xs []string
		if in != "" {
			xs = strings.Split(in, ",")
		}
		if got := andList(xs); got != want {
			t.Errorf("andList(%q) = %q, want %q", xs, got, want)
		}
	}
}

func apiCounts(members, online, pending int) api.Counts {
	return api.Counts{Members: members, Online: online, Pending: pending}
}
