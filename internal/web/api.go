package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// The API declares what it needs from the rest of the node as small
// interfaces; node wires them (Node to itself, Secrets, Trust and Mesh to
// the operator's commands, Replica to the replica). Methods are called
// from HTTP handler goroutines.

// Node is this node's own state.
type Node interface {
	Status(ctx context.Context) (api.Status, error)
	Ticket(ctx context.Context) (api.Ticket, error)
	// PeerScore is a node's GossipSub score here, when known.
	PeerScore(ctx context.Context, node string) (float64, bool)
	// Reach says how every other member is reached now.
	Reach(ctx context.Context) (map[string]api.Reach, error)
}

// Secrets writes, shares, deletes and reveals secrets.
type Secrets interface {
	SetSecret(ctx context.Context, req api.SetSecret) (api.SecretWrites, error)
	RevealSecret(ctx context.Context, name string) (api.Revealed, error)
	ShareSecret(ctx context.Context, name string, to []string) (api.SecretWrites, error)
	DeleteSecret(ctx context.Context, name string, targets []string) (api.SecretWrites, error)
}

// Trust changes what members are: approve a pending node, ignore one,
// revoke a member, promote or demote it.
type Trust interface {
	Approve(ctx context.Context, node, role string) (record.NodeID, error)
	Ignore(ctx context.Context, node string) (record.NodeID, error)
	Revoke(ctx context.Context, node, reason string) (record.NodeID, error)
	SetRole(ctx context.Context, node, role string) (record.NodeID, error)
}

// Mesh reaches other nodes: add one by ticket, invite one, ask one to
// rewrite its credentials.
type Mesh interface {
	AddPeer(ctx context.Context, ticket, role string) (api.AddPeerResult, error)
	Invite(ctx context.Context, ttl, role string) (api.InviteResult, error)
	Sync(ctx context.Context, node string) (api.SyncResult, error)
}

// Replica is what the pages read that depends on membership.
type Replica interface {
	Members() *record.Members
	Peers(ctx context.Context) ([]store.Peer, error)
	SecretHistory(ctx context.Context, name string, target record.NodeID) ([]store.SecretVersion, error)
	SecretState(ctx context.Context, key record.Key) (record.Resolution, error)
}

// API serves /api/v1 from the node's parts; plain queries go to the
// store.
type API struct {
	Self    Self
	Node    Node
	Secrets Secrets
	Trust   Trust
	Mesh    Mesh
	Replica Replica
	Store   *store.Store
	Log     *slog.Logger
	// Login mints a one-time login URL for the web UI (nil: none).
	Login func(ttl time.Duration) (api.LoginURL, error)
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.Prefix+"/status", a.status)
	mux.HandleFunc("GET "+api.Prefix+"/ticket", a.ticket)
	mux.HandleFunc("GET "+api.Prefix+"/audit", a.audit)
	mux.HandleFunc("GET "+api.Prefix+"/peers", a.peers)
	mux.HandleFunc("POST "+api.Prefix+"/peers", a.addPeer)
	mux.HandleFunc("GET "+api.Prefix+"/peers/{node}", a.peer)
	mux.HandleFunc("GET "+api.Prefix+"/secrets", a.secrets)
	mux.HandleFunc("POST "+api.Prefix+"/secrets", a.setSecret)
	mux.HandleFunc("GET "+api.Prefix+"/secrets/{name}", a.secretHistory)
	mux.HandleFunc("DELETE "+api.Prefix+"/secrets/{name}", a.deleteSecret)
	mux.HandleFunc("POST "+api.Prefix+"/secrets/{name}/reveal", a.revealSecret)
	mux.HandleFunc("GET "+api.Prefix+"/secrets/{name}/ciphertext", a.ciphertext)
	mux.HandleFunc("POST "+api.Prefix+"/sync", a.sync)
	mux.HandleFunc("POST "+api.Prefix+"/invites", a.invite)
	mux.HandleFunc("POST "+api.Prefix+"/peers/{node}/{action}", a.peerAction)
	mux.HandleFunc("POST "+api.Prefix+"/secrets/{name}/share", a.shareSecret)
	mux.HandleFunc("POST "+api.Prefix+"/ui/login", a.login)
	return LimitBody(jsonMuxErrors(mux))
}

// jsonMuxErrors answers the mux's own 404 and 405 in JSON like every other
// API error.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &codeRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		msg := "no such API route: " + r.URL.Path
		if rec.code == http.StatusMethodNotAllowed {
			msg = r.Method + " is not allowed on " + r.URL.Path
		}
		writeError(w, nil, &httpError{rec.code, msg})
	})
}

// codeRecorder keeps only the status code and headers of a response.
type codeRecorder struct {
	header http.Header
	code   int
}

func (c *codeRecorder) Header() http.Header         { return c.header }
func (c *codeRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (c *codeRecorder) WriteHeader(code int)        { c.code = code }

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	s, err := a.Node.Status(r.Context())
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *API) ticket(w http.ResponseWriter, r *http.Request) {
	t, err := a.Node.Ticket(r.Context())
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (a *API) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"))
	if err != nil {
		writeError(w, a.Log, BadRequest("limit: "+err.Error()))
		return
	}
	if limit == 0 {
		limit = 100
	}
	page, err := a.AuditPage(r.Context(), q.Get("type"), q.Get("node"), q.Get("secret"), q.Get("before"), limit)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// AuditPage returns one page of audit events, newest first, filtered by
// type, node and secret; before is the paging cursor.
func (a *API) AuditPage(ctx context.Context, typ, node, secret, before string, limit int) (api.Events, error) {
	b, err := intParam(before)
	if err != nil {
		return api.Events{}, BadRequest("before: " + err.Error())
	}
	limit = min(limit, store.MaxEventsPage)
	f := store.EventFilter{Type: typ, Node: node, Secret: secret, Before: int64(b), Limit: limit}
	es, err := a.Store.Events(ctx, f)
	if err != nil {
		return api.Events{}, err
	}
	return EventsResponse(es, limit), nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// EventsResponse converts store events to the API's page of events.
func EventsResponse(es []store.Event, limit int) api.Events {
	out := api.Events{Events: make([]api.Event, 0, len(es))}
	for _, e := range es {
		ae := api.Event{ID: e.ID, Time: e.Time.UTC(), Type: e.Type, Node: e.Node, Secret: e.Secret, Message: e.Message}
		if len(e.Data) > 0 {
			_ = json.Unmarshal(e.Data, &ae.Data)
		}
		out.Events = append(out.Events, ae)
	}
	if limit > 0 && len(es) == limit {
		out.Next = es[len(es)-1].ID
	}
	return out
}

func intParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("not a non-negative integer")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// LimitBody caps every request body before a handler reads it.
func LimitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > api.MaxRequestBody {
			writeError(w, nil, &httpError{http.StatusRequestEntityTooLarge, "request body too large"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxRequestBody)
		h.ServeHTTP(w, r)
	})
}

func (a *API) sync(w http.ResponseWriter, r *http.Request) {
	var req api.Sync
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, a.Log, err)
		return
	}
	res, err := a.Mesh.Sync(r.Context(), req.Node)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// login answers a one-time login URL. On the control socket it is what
// `credmesh ui` prints; on the web listener only a signed-in caller gets
// this far.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if a.Login == nil {
		writeError(w, a.Log, fmt.Errorf("%w: the web UI is off", api.ErrNotFound))
		return
	}
	res, err := a.Login(0)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) invite(w http.ResponseWriter, r *http.Request) {
	var req api.Invite
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, a.Log, err)
		return
	}
	res, err := a.Mesh.Invite(r.Context(), req.TTL, req.Role)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) peerAction(w http.ResponseWriter, r *http.Request) {
	var req api.PeerAction
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			writeError(w, a.Log, err)
			return
		}
	}
	action := r.PathValue("action")
	id, err := a.PeerAction(r.Context(), r.PathValue("node"), action, req)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	res := api.PeerActionResult{NodeID: string(id), Action: action}
	if hosts, _, err := a.Hostnames(r.Context()); err == nil {
		res.Hostname = hosts[id]
	}
	writeJSON(w, http.StatusOK, res)
}

// PeerAction runs one of the peer actions on node and returns the node it
// resolved to.
func (a *API) PeerAction(ctx context.Context, node, action string, req api.PeerAction) (record.NodeID, error) {
	switch action {
	case "approve":
		return a.Trust.Approve(ctx, node, req.Role)
	case "ignore":
		return a.Trust.Ignore(ctx, node)
	case "revoke":
		return a.Trust.Revoke(ctx, node, req.Reason)
	case "promote":
		return a.Trust.SetRole(ctx, node, "admin")
	case "demote":
		return a.Trust.SetRole(ctx, node, "node")
	}
	return "", &httpError{http.StatusNotFound, "no such peer action: " + action}
}
