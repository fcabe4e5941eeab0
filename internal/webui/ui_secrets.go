package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/web"
)

// nodes lists this node and the members, for choices.
func (u *UI) nodes(ctx context.Context) ([]nodeRef, error) {
	ps, err := u.API.Replica.Peers(ctx)
	if err != nil {
		return nil, err
	}
	out := []nodeRef{{ID: string(u.API.Self.ID), Host: u.API.Self.Hostname, Self: true}}
	for _, p := range ps {
		if p.Member {
			out = append(out, nodeRef{ID: string(p.NodeID), Host: p.Hostname})
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Host < out[1+j].Host })
	return out, nil
}

func (u *UI) secrets(w http.ResponseWriter, r *http.Request) {
	node := r.URL.Query().Get("node")
	list, err := u.API.SecretsList(r.Context(), node)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	label := node
	for _, n := range nodes {
		if n.ID == node && n.Host != "" {
			label = n.Host
		}
	}
	data := struct {
		Secrets   []api.Secret
		Nodes     []nodeRef
		Node      string
		NodeLabel string
	}{list.Secrets, nodes, node, label}
	u.render(w, r, http.StatusOK, "secrets", "Secrets", "secrets", data)
}

// newForm is what the new-secret form shows: the choices, and what the
// user gave when the form comes back refused.
type newForm struct {
	Nodes                  []nodeRef
	Name, Content, Restart string
	MaxSize                uint64
}

// newFormFor lists the target choices with checked ticked, or this node
// when checked is empty and tickSelf is set.
func (u *UI) newFormFor(ctx context.Context, checked []string, tickSelf bool) (newForm, error) {
	nodes, err := u.nodes(ctx)
	if err != nil {
		return newForm{}, err
	}
	tick := map[string]bool{}
	for _, c := range checked {
		tick[c] = true
	}
	for i := range nodes {
		nodes[i].Checked = tick[nodes[i].ID] || tickSelf && len(checked) == 0 && nodes[i].Self
	}
	return newForm{Nodes: nodes, MaxSize: record.MaxPlaintext}, nil
}

// newSecret shows the form; ?name= and ?target= fill it in (a deleted
// secret's page links here to write a new version for its old targets).
func (u *UI) newSecret(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := u.newFormFor(r.Context(), q["target"], true)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.Name = q.Get("name")
	u.render(w, r, http.StatusOK, "new", "New secret", "new", f)
}

// maxUpload caps the form: the largest secret plus the other fields.
const maxUpload = record.MaxPlaintext + 64<<10

// errNoTarget refuses a new secret with every target unticked: the form
// always says where a secret goes (the API's empty list means "where it
// already is", which a new name does not have).
var errNoTarget = web.BadRequest("choose at least one target node: nothing was written")

// createSecret writes the form's secret for exactly the ticked targets.
// A refused form comes back filled in, with the reason (a file upload
// must be chosen again).
func (u *UI) createSecret(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		back(w, r, "/secrets/new", "", fmt.Errorf("form: %w", err))
		return
	}
	name := strings.TrimSpace(r.FormValue("name"))
	content := r.FormValue("content")
	targets := r.Form["target"]
	refuse := func(err error) {
		f, ferr := u.newFormFor(r.Context(), targets, false)
		if ferr != nil {
			u.fail(w, r, ferr)
			return
		}
		f.Name, f.Content, f.Restart = name, content, r.FormValue("restart")
		u.renderError(w, r, web.StatusOf(err), "new", "New secret", "new", err, f)
	}
	value := []byte(content)
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b := make([]byte, record.MaxPlaintext+1)
		n, _ := readFull(f, b)
		if n > record.MaxPlaintext {
			refuse(fmt.Errorf("%w: %v", api.ErrInvalid, record.ErrTooLarge))
			return
		}
		if n > 0 {
			value = b[:n]
		}
	}
	if len(targets) == 0 {
		refuse(errNoTarget)
		return
	}
	req := api.SetSecret{Name: name, Targets: targets, Value: value, Restart: strings.Fields(r.FormValue("restart"))}
	res, err := u.API.Secrets.SetSecret(r.Context(), req)
	if err != nil {
		refuse(err)
		return
	}
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("wrote %s for %d target(s)", name, len(res.Writes)), nil)
}

// secret shows a secret's copies, rollout and history. A secret whose
// every copy is deleted offers its history and a new version for the
// targets it had; sharing and deleting need a live copy.
func (u *UI) secret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, err := u.API.History(r.Context(), name, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var current []api.SecretVersion
	readable := false
	have := map[string]bool{}
	again := url.Values{"name": {name}}
	for _, v := range h.Versions {
		if !v.Current {
			continue
		}
		current = append(current, v)
		again.Add("target", v.Target)
		if !v.Tombstone {
			have[v.Target] = true
			readable = readable || v.Target == string(u.API.Self.ID)
		}
	}
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var shareTo []nodeRef
	for _, n := range nodes {
		if !have[n.ID] {
			shareTo = append(shareTo, n)
		}
	}
	data := struct {
		Name       string
		Current    []api.SecretVersion
		History    []api.SecretVersion
		Readable   bool
		Live       bool // some copy is not deleted
		ShareTo    []nodeRef
		NewVersion string // the form for a new version, for the same targets
	}{name, current, h.Versions, readable, len(have) > 0, shareTo, "/secrets/new?" + again.Encode()}
	u.render(w, r, http.StatusOK, "secret", "Secret "+name, "secrets", data)
}

func (u *UI) shareSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		back(w, r, "/secrets/"+url.PathEscape(name), "", fmt.Errorf("%w: form: %v", api.ErrInvalid, err))
		return
	}
	res, err := u.API.Secrets.ShareSecret(r.Context(), name, r.Form["to"])
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("shared %s with %d node(s)", name, len(res.Writes)), err)
}

func (u *UI) confirmDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := record.ValidName(name); err != nil {
		u.fail(w, r, fmt.Errorf("%w: %v", api.ErrInvalid, err))
		return
	}
	u.render(w, r, http.StatusOK, "delete", "Delete "+name, "secrets", struct{ Name string }{name})
}

func (u *UI) deleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := u.API.Secrets.DeleteSecret(r.Context(), name, nil)
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("deleted %s for %d target(s)", name, len(res.Writes)), err)
}

// reveal shows this node's own copy: POST only, never cached.
func (u *UI) reveal(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := u.API.Secrets.RevealSecret(r.Context(), name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	data := struct {
		Name         string
		Version      uint64
		Text, Base64 string
	}{Name: name, Version: res.Version}
	if isText(res.Value) {
		data.Text = string(res.Value)
	} else {
		data.Base64 = base64Std(res.Value)
	}
	u.render(w, r, http.StatusOK, "reveal", "Secret "+name, "secrets", data)
}
