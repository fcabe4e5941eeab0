package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// staticBackend answers with fixed values: the node package's real
// Backend is exercised end to end in internal/e2e.
type staticBackend struct{ status api.Status }

func (b staticBackend) Status(context.Context) (api.Status, error) { return b.status, nil }
func (b staticBackend) AddPeer(context.Context, string, string) (api.AddPeerResult, error) {
	return api.AddPeerResult{}, api.ErrInvalid
}
func (b staticBackend) SetSecret(context.Context, api.SetSecret) (api.SecretWrites, error) {
	return api.SecretWrites{}, api.ErrInvalid
}
func (b staticBackend) RevealSecret(context.Context, string) (api.Revealed, error) {
	return api.Revealed{}, api.ErrNotFound
}
func (b staticBackend) ShareSecret(context.Context, string, []string) (api.SecretWrites, error) {
	return api.SecretWrites{}, api.ErrInvalid
}
func (b staticBackend) DeleteSecret(context.Context, string, []string) (api.SecretWrites, error) {
	return api.SecretWrites{}, api.ErrInvalid
}
func (b staticBackend) Invite(context.Context, string, string) (api.InviteResult, error) {
	return api.InviteResult{}, api.ErrInvalid
}
func (b staticBackend) Approve(context.Context, string, string) (record.NodeID, error) {
	return "", api.ErrInvalid
}
func (b staticBackend) Ignore(context.Context, string) (record.NodeID, error) {
	return "", api.ErrInvalid
}
func (b staticBackend) Revoke(context.Context, string, string) (record.NodeID, error) {
	return "", api.ErrInvalid
}
func (b staticBackend) SetRole(context.Context, string, string) (record.NodeID, error) {
	return "", api.ErrInvalid
}
func (b staticBackend) PeerScore(context.Context, string) (float64, bool) { return 0, false }
func (b staticBackend) Reach(context.Context) (map[string]api.Reach, error) {
	return map[string]api.Reach{}, nil
}
func (b staticBackend) Sync(context.Context, string) (api.SyncResult, error) {
	return api.SyncResult{}, api.ErrInvalid
}
func (b staticBackend) Ticket(context.Context) (api.Ticket, error) {
	return api.Ticket{NodeID: b.status.NodeID, Ticket: "credmesh1test"}, nil
}

func testStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testReplica is a replica on st for a node that signs nothing.
func testReplica(t testing.TB, st *store.Store) *replica.Replica {
	t.Helper()
	r := replica.New(replica.Config{Store: st, Self: "12D3KooWtest"})
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

// runControl runs a ControlServer on path under a supervisor and returns
// a client and a stop function that checks the socket is removed.
func runControl(t *testing.T, path string, st *store.Store) (*api.Client, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	sup := actor.NewSupervisor(log)
	b := staticBackend{api.Status{NodeID: "12D3KooWtest"}}
	a := &API{Node: b, Secrets: b, Trust: b, Mesh: b, Replica: testReplica(t, st), Store: st, Log: log}
	cs := &ControlServer{Path: path, Handler: a.Handler(), Log: log}
	if _, err := actor.Spawn[ControlMsg](sup, "control", cs, 1); err != nil {
		t.Fatal(err)
	}
	// Tasks start after every actor's PreStart: once this one runs, the
	// socket listens (connections wait in its backlog until Serve).
	started := make(chan struct{})
	sup.Go("started", func(context.Context) error { close(started); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("control server did not start: %v", err)
	}
	c := api.NewClient(path)
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("control server not answering once started: %v", err)
	}
	return c, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("supervisor: %v", err)
		}
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Fatalf("socket %s left behind: %v", path, err)
		}
	}
}

func TestControlServesAndCleansUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketFile)
	st := testStore(t)
	_ = st.AddEvent(t.Context(), store.Event{Type: "t", Node: "n", Message: "hello", Data: []byte(`{"k":1}`)})
	c, stop := runControl(t, path, st)
	s, err := c.Status(t.Context())
	if err != nil || s.NodeID != "12D3KooWtest" {
		t.Fatalf("Status = %+v, %v", s, err)
	}
	es, err := c.Audit(t.Context(), 10, 0)
	if err != nil || len(es.Events) != 1 || es.Events[0].Message != "hello" || es.Events[0].Data["k"] != float64(1) {
		t.Fatalf("Audit = %+v, %v", es, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %04o, want 0600", fi.Mode().Perm())
	}
	stop()
}

func TestControlReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketFile)
	// A socket file nobody listens on, as a kill -9 leaves behind.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal("no stale socket to test with")
	}
	_, stop := runControl(t, path, testStore(t))
	stop()
}

func TestControlRefusesLiveSocketAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := removeStaleSocket(t.Context(), live); err == nil || !strings.Contains(err.Error(), "another credmesh daemon") {
		t.Fatalf("removeStaleSocket(live) = %v", err)
	}
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, []byte("keep me"), 0o600)
	if err := removeStaleSocket(t.Context(), file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("removeStaleSocket(file) = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("a regular file was touched")
	}
}

func TestAPIErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketFile)
	c, stop := runControl(t, path, testStore(t))
	defer stop()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for _, tc := range []struct {
		name, method, path string
		body               string
		want               int
	}{
		{"unknown route", "GET", "/api/v1/nope", "", http.StatusNotFound},
		{"bad limit", "GET", "/api/v1/audit?limit=x", "", http.StatusBadRequest},
		{"negative before", "GET", "/api/v1/audit?before=-1", "", http.StatusBadRequest},
		{"wrong method", "POST", "/api/v1/status", "{}", http.StatusMethodNotAllowed},
		{"oversized body", "POST", "/api/v1/nope", strings.Repeat("x", api.MaxRequestBody+1), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, "http://x"+tc.path, strings.NewReader(tc.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if _, err := c.Audit(t.Context(), 0, 0); err != nil {
		t.Fatalf("Audit with defaults: %v", err)
	}
	// The client turns a JSON error into a StatusError with its status
	// and message: the backend answers RevealSecret with ErrNotFound.
	_, err := c.Reveal(t.Context(), "db")
	var se *api.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Reveal = %v (%T), want a *api.StatusError", err, err)
	}
	if want := (api.StatusError{Code: http.StatusNotFound, Message: api.ErrNotFound.Error()}); *se != want {
		t.Fatalf("Reveal = %+v, want %+v", *se, want)
	}
}

func TestClientNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketFile)
	_, err := api.NewClient(path).Status(t.Context())
	if !errors.Is(err, api.ErrNotRunning) || !strings.Contains(err.Error(), "no socket at "+path) {
		t.Fatalf("Status without daemon = %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
