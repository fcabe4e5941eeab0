package web

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// Hostnames maps node IDs to hostnames (this node included).
func (a *API) Hostnames(ctx context.Context) (map[record.NodeID]string, []store.Peer, error) {
	ps, err := a.Replica.Peers(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := map[record.NodeID]string{a.Self.ID: a.Self.Hostname}
	for _, p := range ps {
		m[p.NodeID] = p.Hostname
	}
	return m, ps, nil
}

// SecretsList returns current secrets grouped by name, for the targets
// node resolves to (all when node is empty).
func (a *API) SecretsList(ctx context.Context, node string) (api.Secrets, error) {
	hosts, ps, err := a.Hostnames(ctx)
	if err != nil {
		return api.Secrets{}, err
	}
	var target record.NodeID
	if node != "" {
		if target, err = replica.ResolveNode(ps, a.Self.ID, a.Self.Hostname, node); err != nil {
			return api.Secrets{}, err
		}
	}
	cur, err := a.Store.CurrentSecrets(ctx, target, false)
	if err != nil {
		return api.Secrets{}, err
	}
	receipts, err := a.Store.Receipts(ctx, "")
	if err != nil {
		return api.Secrets{}, err
	}
	rot, err := a.rotation(ctx)
	if err != nil {
		return api.Secrets{}, err
	}
	out := api.Secrets{Secrets: []api.Secret{}}
	for _, v := range cur {
		if len(out.Secrets) == 0 || out.Secrets[len(out.Secrets)-1].Name != v.Name {
			out.Secrets = append(out.Secrets, api.Secret{Name: v.Name})
		}
		last := &out.Secrets[len(out.Secrets)-1]
		t := targetView(v, hosts)
		t.Rollout = rollout(v, receipts[record.NodeID(string(v.Target)+"/"+v.Name)])
		t.NeedsRotation = rot.check(v, hosts)
		last.Targets = append(last.Targets, t)
	}
	if target != "" {
		if cur, err = a.Store.CurrentSecrets(ctx, "", false); err != nil {
			return api.Secrets{}, err
		}
	}
	markDiverged(&out, cur, a.Replica.Members().IsRevoked)
	return out, nil
}

// rollout says what the target reported for version v: written, removed
// or failed (its receipt is for exactly this version), else pending.
func rollout(v store.SecretVersion, r store.Receipt) api.Rollout {
	if r.Name == "" || r.Secret != v.ID {
		return api.Rollout{State: "pending"}
	}
	return api.Rollout{State: r.State, Version: r.Version, Error: r.Error, At: r.At.UTC()}
}

func targetView(v store.SecretVersion, hosts map[record.NodeID]string) api.SecretTarget {
	t := api.SecretTarget{
		Target: string(v.Target), Hostname: hosts[v.Target], Version: v.Version,
		Author: string(v.Author), AuthorHostname: hosts[v.Author], Creator: string(v.Creator), CreatorHost: hosts[v.Creator],
		Updated: v.Created.UTC(), Record: v.ID.String(), Size: v.Size, Tombstone: v.Tombstone,
		Group: hex.EncodeToString(v.Group), Restart: v.Restart,
	}
	if len(v.CipherHash) > 0 {
		t.CipherHash = hex.EncodeToString(v.CipherHash)
	}
	return t
}

// History returns every version of name (for the targets node resolves
// to, all when empty).
func (a *API) History(ctx context.Context, name, node string) (api.SecretHistory, error) {
	if err := record.ValidName(name); err != nil {
		return api.SecretHistory{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	hosts, ps, err := a.Hostnames(ctx)
	if err != nil {
		return api.SecretHistory{}, err
	}
	var target record.NodeID
	if node != "" {
		if target, err = replica.ResolveNode(ps, a.Self.ID, a.Self.Hostname, node); err != nil {
			return api.SecretHistory{}, err
		}
	}
	vs, err := a.Replica.SecretHistory(ctx, name, target)
	if err != nil {
		return api.SecretHistory{}, err
	}
	if len(vs) == 0 {
		return api.SecretHistory{}, fmt.Errorf("%w: no secret %s", api.ErrNotFound, name)
	}
	receipts, err := a.Store.Receipts(ctx, name)
	if err != nil {
		return api.SecretHistory{}, err
	}
	rot, err := a.rotation(ctx)
	if err != nil {
		return api.SecretHistory{}, err
	}
	out := api.SecretHistory{Name: name}
	for _, v := range vs {
		t := targetView(v, hosts)
		if v.Current {
			t.Rollout = rollout(v, receipts[v.Target])
			if !v.Tombstone {
				t.NeedsRotation = rot.check(v, hosts)
			}
		}
		out.Versions = append(out.Versions, api.SecretVersion{SecretTarget: t, Current: v.Current, Counts: v.Counts})
	}
	return out, nil
}

func (a *API) secrets(w http.ResponseWriter, r *http.Request) {
	list, err := a.SecretsList(r.Context(), r.URL.Query().Get("node"))
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (a *API) secretHistory(w http.ResponseWriter, r *http.Request) {
	h, err := a.History(r.Context(), r.PathValue("name"), r.URL.Query().Get("node"))
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *API) setSecret(w http.ResponseWriter, r *http.Request) {
	var req api.SetSecret
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, a.Log, err)
		return
	}
	res, err := a.Secrets.SetSecret(r.Context(), req)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) shareSecret(w http.ResponseWriter, r *http.Request) {
	var req api.ShareSecret
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, a.Log, err)
		return
	}
	res, err := a.Secrets.ShareSecret(r.Context(), r.PathValue("name"), req.To)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) {
	res, err := a.Secrets.DeleteSecret(r.Context(), r.PathValue("name"), r.URL.Query()["target"])
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// revealSecret answers a POST only (never a GET), uncached.
func (a *API) revealSecret(w http.ResponseWriter, r *http.Request) {
	res, err := a.Secrets.RevealSecret(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// ciphertext returns the stored age ciphertext of the current version of
// name for one target (default this node). Every member stores it; only
// the target can decrypt it.
func (a *API) ciphertext(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := record.ValidName(name); err != nil {
		writeError(w, a.Log, fmt.Errorf("%w: %v", api.ErrInvalid, err))
		return
	}
	target := a.Self.ID
	if node := r.URL.Query().Get("node"); node != "" {
		var err error
		if target, _, err = a.resolve(r.Context(), node); err != nil {
			writeError(w, a.Log, err)
			return
		}
	}
	res, err := a.Replica.SecretState(r.Context(), record.Key{Name: name, Target: target})
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	if res.Current == nil || res.Current.Tombstone {
		writeError(w, a.Log, fmt.Errorf("%w: no current %s for %s", api.ErrNotFound, name, target))
		return
	}
	body, err := a.Store.SecretBody(r.Context(), res.Current.ID)
	if err != nil {
		writeError(w, a.Log, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body.Ciphertext)
}

// rotation knows the revocations and who could read each share group.
type rotation struct {
	revoked map[record.NodeID]time.Time
	groups  map[string]map[record.NodeID]time.Time
}

func (a *API) rotation(ctx context.Context) (rotation, error) {
	rev, err := a.Store.Revocations(ctx)
	if err != nil || len(rev) == 0 {
		return rotation{revoked: rev}, err
	}
	g, err := a.Store.GroupTargets(ctx)
	return rotation{revoked: rev, groups: g}, err
}

// check says why version v needs rotating, or "": its author, its target
// or a node holding a copy of it (its share group) was revoked, and v was
// written before that revocation.
func (r rotation) check(v store.SecretVersion, hosts map[record.NodeID]string) string {
	if len(r.revoked) == 0 {
		return ""
	}
	name := func(id record.NodeID) string {
		if h := hosts[id]; h != "" {
			return h
		}
		return id.Short()
	}
	if at, ok := r.revoked[v.Author]; ok && v.Created.Before(at) {
		return "written by " + name(v.Author) + ", since revoked"
	}
	if at, ok := r.revoked[v.Target]; ok && v.Created.Before(at) {
		return "its target " + name(v.Target) + " was revoked"
	}
	for holder := range r.groups[string(v.Group)] {
		if at, ok := r.revoked[holder]; ok && v.Created.Before(at) {
			return name(holder) + ", which held a copy, was revoked"
		}
	}
	return ""
}
