package web

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
)

// nodes lists this node and the members, for choices.
func (u *UI) nodes(ctx context.Context) ([]nodeRef, error) {
	ps, err := u.API.Store.Peers(ctx)
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

func (u *UI) newSecret(w http.ResponseWriter, r *http.Request) {
	nodes, err := u.nodes(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	data := struct {
		Nodes         []nodeRef
		Name, Restart string
	}{nodes, r.URL.Query().Get("name"), ""}
	u.render(w, r, http.StatusOK, "new", "New secret", "new", data)
}

// maxUpload caps the form: a 1 MiB secret plus the other fields.
const maxUpload = record.MaxPlaintext + 64<<10

func (u *UI) createSecret(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		back(w, r, "/secrets/new", "", fmt.Errorf("form: %w", err))
		return
	}
	name := strings.TrimSpace(r.FormValue("name"))
	value := []byte(r.FormValue("content"))
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b := make([]byte, record.MaxPlaintext+1)
		n, _ := readFull(f, b)
		if n > record.MaxPlaintext {
			back(w, r, "/secrets/new", "", record.ErrTooLarge)
			return
		}
		if n > 0 {
			value = b[:n]
		}
	}
	req := api.SetSecret{Name: name, Targets: r.Form["target"], Value: value, Restart: strings.Fields(r.FormValue("restart"))}
	res, err := u.API.Backend.SetSecret(r.Context(), req)
	if err != nil {
		back(w, r, "/secrets/new", "", err)
		return
	}
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("wrote %s for %d target(s)", name, len(res.Writes)), nil)
}

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
	for _, v := range h.Versions {
		if v.Current {
			current = append(current, v)
			if !v.Tombstone {
				have[v.Target] = true
				if v.Target == string(u.API.Self.ID) {
					readable = true
				}
			}
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
		Name     string
		Current  []api.SecretVersion
		History  []api.SecretVersion
		Readable bool
		ShareTo  []nodeRef
	}{name, current, h.Versions, readable, shareTo}
	u.render(w, r, http.StatusOK, "secret", "Secret "+name, "secrets", data)
}

func (u *UI) shareSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		back(w, r, "/secrets/"+url.PathEscape(name), "", fmt.Errorf("%w: form: %v", api.ErrInvalid, err))
		return
	}
	res, err := u.API.Backend.ShareSecret(r.Context(), name, r.Form["to"])
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
	res, err := u.API.Backend.DeleteSecret(r.Context(), name, nil)
	back(w, r, "/secrets/"+url.PathEscape(name), fmt.Sprintf("deleted %s for %d target(s)", name, len(res.Writes)), err)
}

// reveal shows this node's own copy: POST only, never cached.
func (u *UI) reveal(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := u.API.Backend.RevealSecret(r.Context(), name)
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
