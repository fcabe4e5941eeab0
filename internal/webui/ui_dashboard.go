package webui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

// secretLine is one secret on the dashboard, its state in plain words.
type secretLine struct {
	Name    string
	Version uint64
	Words   string
	Class   string // ok, pending or failed: the colour
}

// dashboardData is what the dashboard shows besides the status: the
// secrets for this node and the rollout of those it wrote for others, in
// plain words, and the mesh in one sentence.
type dashboardData struct {
	Ticket string
	Here   []secretLine // secrets whose target is this node
	Wrote  []secretLine // secrets this node wrote for other nodes, by name
	Mesh   string
	// Refused counts records from other nodes refused since start (copies
	// of records already held are not counted: they change nothing).
	Refused int
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	t, err := u.API.Node.Ticket(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	list, err := u.API.SecretsList(r.Context(), "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := u.signedIn(r, "Dashboard", "dashboard", nil)
	d := dashboardData{Ticket: t.Ticket, Mesh: meshWords(p.Status.Counts)}
	d.Here, d.Wrote = u.rolloutLines(list.Secrets)
	for reason, n := range p.Status.Counts.Rejects {
		if reason != string(record.ReasonDuplicate) {
			d.Refused += n
		}
	}
	p.Data = d
	u.write(w, r, http.StatusOK, "dashboard", p)
}

// rolloutLines says, for each secret, how its rollout stands: for this
// node's own copies, whether the credential was written; for copies this
// node wrote for others, where it was written, is awaited or failed.
func (u *UI) rolloutLines(secrets []api.Secret) (here, wrote []secretLine) {
	self := string(u.API.Self.ID)
	for _, s := range secrets {
		var written, waiting, failed []string
		var latest uint64
		for _, t := range s.Targets {
			if t.Target == self {
				here = append(here, u.ownLine(s.Name, t))
				continue
			}
			if t.Author != self {
				continue
			}
			latest = max(latest, t.Version)
			host := t.Hostname
			if host == "" {
				host = record.NodeID(t.Target).Short()
			}
			switch t.Rollout.State {
			case "written":
				written = append(written, host)
			case "failed":
				failed = append(failed, fmt.Sprintf("%s (%s)", host, t.Rollout.Error))
			default:
				waiting = append(waiting, host)
			}
		}
		if len(written)+len(waiting)+len(failed) == 0 {
			continue
		}
		slices.Sort(written)
		slices.Sort(waiting)
		slices.Sort(failed)
		var words []string
		line := secretLine{Name: s.Name, Version: latest, Class: "ok"}
		if len(written) > 0 {
			words = append(words, "written on "+andList(written))
		}
		if len(waiting) > 0 {
			words = append(words, "waiting for "+andList(waiting))
			line.Class = "pending"
		}
		if len(failed) > 0 {
			words = append(words, "failed on "+andList(failed))
			line.Class = "failed"
		}
		line.Words = strings.Join(words, "; ")
		wrote = append(wrote, line)
	}
	return here, wrote
}

// ownLine says how this node's own copy of a secret stands.
func (u *UI) ownLine(name string, t api.SecretTarget) secretLine {
	l := secretLine{Name: name, Version: t.Version}
	switch t.Rollout.State {
	case "written":
		l.Words, l.Class = "credential written "+ago(u.Now(), t.Rollout.At), "ok"
	case "failed":
		l.Words, l.Class = "could not be written: "+t.Rollout.Error, "failed"
	default:
		l.Words, l.Class = "waiting to be written", "pending"
	}
	if t.NeedsRotation != "" {
		l.Words += "; needs rotation: " + t.NeedsRotation
		l.Class = "failed"
	}
	return l
}

// meshWords says in one sentence how many other members there are, how
// many are online and how many nodes wait for approval.
func meshWords(c api.Counts) string {
	var s string
	switch {
	case c.Members == 0:
		s = "No other members yet: add one on the Peers page."
	case c.Online == c.Members && c.Members == 1:
		s = "1 other member, online."
	case c.Online == c.Members:
		s = fmt.Sprintf("%d other members, all online.", c.Members)
	default:
		s = fmt.Sprintf("%d of %d other members online.", c.Online, c.Members)
	}
	switch c.Pending {
	case 0:
	case 1:
		s += " 1 node waits for approval on the Peers page."
	default:
		s += fmt.Sprintf(" %d nodes wait for approval on the Peers page.", c.Pending)
	}
	return s
}

// andList joins "a", "a and b", "a, b and c".
func andList(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
