package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/store"
)

// apiRoutes are the API's routes that read a request body or query.
var apiRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/secrets"},
	{"POST", "/api/v1/secrets/db/share"},
	{"POST", "/api/v1/secrets/db/reveal"},
	{"DELETE", "/api/v1/secrets/db"},
	{"POST", "/api/v1/peers"},
	{"POST", "/api/v1/peers/node/approve"},
	{"POST", "/api/v1/peers/node/revoke"},
	{"POST", "/api/v1/peers/node/promote"},
	{"POST", "/api/v1/peers/node/demote"},
	{"POST", "/api/v1/peers/node/ignore"},
	{"POST", "/api/v1/ui/login"},
	{"POST", "/api/v1/invites"},
	{"POST", "/api/v1/sync"},
	{"GET", "/api/v1/audit"},
	{"GET", "/api/v1/secrets/db"},
}

// FuzzAPIRequests sends any body and query to every API route that reads
// one: the answer is a JSON error or success, never a 5xx or a panic.
func FuzzAPIRequests(f *testing.F) {
	st, err := store.Open(f.Context(), filepath.Join(f.TempDir(), store.FileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	b := staticBackend{api.Status{NodeID: "12D3KooWtest"}}
	a := &API{Node: b, Secrets: b, Trust: b, Mesh: b, Replica: testReplica(f, st), Store: st, Log: slog.New(slog.DiscardHandler)}
	h := a.Handler()
	f.Add(uint8(0), "", []byte(`{"name":"db","value":"aGk=","targets":["a"]}`))
	f.Add(uint8(1), "", []byte(`{"to":["b"]}`))
	f.Add(uint8(4), "", []byte(`{"ticket":"credmesh1x"}`))
	f.Add(uint8(6), "", []byte(`{"reason":"lost"}`))
	f.Add(uint8(7), "", []byte(`{"expires":"1h"}`))
	f.Add(uint8(9), "limit=5&before=9", []byte(nil))
	f.Add(uint8(3), "target=a&target=b", []byte(nil))
	f.Add(uint8(0), "", []byte(`{"name":"db","value":"aGk=","unknown":1}`))
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := apiRoutes[int(route)%len(apiRoutes)]
		req := httptest.NewRequest(r.method, "http://127.0.0.1"+r.path, bytes.NewReader(body))
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s with %q: %d %s", r.method, r.path, query, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e api.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: %d with a body that is not a JSON error: %q", r.method, r.path, w.Code, w.Body)
			}
		}
	})
}
