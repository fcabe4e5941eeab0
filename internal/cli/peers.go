package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
)

func newPeersCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List, add and inspect the nodes this node knows",
		Example: `  credmesh peers list
  credmesh peers add "$(cat /tmp/b.ticket)"
  credmesh peers approve web1 --role node`,
	}
	cmd.AddCommand(newPeersListCmd(e), newPeersAddCmd(e), newPeersShowCmd(e),
		newPeerActionCmd(e, "approve", "Trust a pending node and admit it to the mesh (admins only)"),
		newPeerActionCmd(e, "ignore", "Stop listing a pending node (it stays untrusted)"),
		newPeerActionCmd(e, "revoke", "Revoke a node for good: a signed revoke that beats every admit (admins only)"),
		newPeerActionCmd(e, "promote", "Make a member an admin (admins only)"),
		newPeerActionCmd(e, "demote", "Make an admin a plain node (admins only)"))
	return cmd
}

// checkRole refuses a --role that is neither admin nor node (a usage
// error).
func checkRole(role string) error {
	if role != "admin" && role != "node" {
		return usageError{fmt.Errorf("--role must be admin or node, not %q", role)}
	}
	return nil
}

var actionExamples = map[string]string{
	"approve": "  credmesh peers approve 12D3KooWAbC\n  credmesh peers approve web1 --role admin",
	"ignore":  "  credmesh peers ignore 12D3KooWAbC",
	"revoke":  "  credmesh peers revoke web1 --reason \"disk stolen\"",
	"promote": "  credmesh peers promote web1",
	"demote":  "  credmesh peers demote web1",
}

var actionDone = map[string]string{"approve": "approved", "ignore": "ignored", "revoke": "revoked",
	"promote": "promoted to admin", "demote": "demoted to node"}

func newPeerActionCmd(e *env, action, short string) *cobra.Command {
	var req api.PeerAction
	cmd := &cobra.Command{
		Use:     action + " NODE",
		Short:   short,
		Example: actionExamples[action],
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "approve" {
				if err := checkRole(req.Role); err != nil {
					return err
				}
			}
			res, err := e.client().PeerAction(cmd.Context(), args[0], action, req)
			if err != nil {
				return err
			}
			name := res.NodeID
			if res.Hostname != "" {
				name = res.Hostname + " (" + res.NodeID + ")"
			}
			fmt.Fprintf(e.stdout, "%s %s\n", actionDone[action], name)
			return nil
		},
	}
	switch action {
	case "approve":
		cmd.Flags().StringVar(&req.Role, "role", "node", "the role it gets: admin or node")
	case "revoke":
		cmd.Flags().StringVar(&req.Reason, "reason", "", "why (kept in the revoke record; at most 256 bytes)")
		cmd.Long = `revoke publishes a signed revoke record. It is final: it beats every admit, past
or future, survives restarts and partitions; every node stops accepting the
node's records, meshing with it and accepting its connections, and flags
every secret it could read or wrote as needing rotation. What the node signed
that this node has seen stands (the revoke pins it); nothing else it signed,
before or after, ever counts. Revoke a compromised admin from two admins: an
admin revoked by one admin can take that one down with it by revoking it
back. Only an admin revokes.`
	case "demote":
		cmd.Long = `demote publishes an admit of the node with the role node. What it signed as an
admin that this node has seen stands (the demotion pins it); anything else
it signed as an admin stops counting while it is a node.`
	}
	return cmd
}

// exactArgs wants n positional arguments; anything else is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func newPeersListCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List members, pending and revoked nodes",
		Example: `  credmesh peers list
  credmesh peers list -o json | jq '.peers[] | select(.state == "pending")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			ps, err := e.client().Peers(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, ps)
			}
			rows := [][]string{{"NODE", "HOSTNAME", "STATE", "ROLE", "ONLINE", "REACHED", "LAST SEEN", "AGE RECIPIENT"}}
			for _, p := range ps.Peers {
				rows = append(rows, []string{shortID(p.NodeID), dash(p.Hostname), p.State, dash(p.Role), yesNo(p.Online),
					reachShort(p.Reach), ago(p.LastSeen), shortRecipient(p.AgeRecipient)})
			}
			return table(e.stdout, rows)
		},
	}
	out.register(cmd)
	return cmd
}

func newPeersAddCmd(e *env) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "add TICKET",
		Short: "Trust the node a ticket names, admit it to the mesh and dial it",
		Long: `add trusts the node named by TICKET with a role (remembered across restarts)
and dials it. On an admin it also publishes a signed admit record, so that
every node trusting this one trusts it too; a plain node trusts it here only.
An invite ticket joins its inviter's cluster instead. This node's own ticket
and a revoked node's are refused.`,
		Example: `  credmesh peers add "$(cat /tmp/b.ticket)"
  credmesh peers add credmesh1... --role admin`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRole(role); err != nil {
				return err
			}
			if _, err := identity.ParseTicket(args[0]); err != nil {
				return usageError{fmt.Errorf("peers add: not a ticket: %w", err)}
			}
			res, err := e.client().AddPeer(cmd.Context(), args[0], role)
			if err != nil {
				return err
			}
			switch {
			case !res.Added:
				fmt.Fprintf(e.stdout, "%s was already trusted\n", res.NodeID)
			case res.Joined:
				fmt.Fprintf(e.stdout, "joining %s's cluster (presenting the invite)\n", res.NodeID)
			case res.Admitted:
				fmt.Fprintf(e.stdout, "added %s as %s; admit published\n", res.NodeID, res.Role)
			default:
				fmt.Fprintf(e.stdout, "added %s as %s, trusted here only: this node is not an admin, so it admits nobody\n", res.NodeID, res.Role)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "node", "the role it gets: admin or node")
	return cmd
}

func newPeersShowCmd(e *env) *cobra.Command {
	var out output
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "show NODE",
		Short: "Show one node: a node ID, a unique prefix of one, a unique hostname or its ticket",
		Long: `show prints one node: its state and role, whether it is online, its
addresses and the system information it last published. With --wait it
first waits up to that long for the node to be an online member (for
scripts that start nodes and then write secrets for them).`,
		Example: `  credmesh peers show web1
  credmesh peers show 12D3KooWAbC -o json
  credmesh peers show "$(credmesh --data-dir /tmp/b ticket)" --wait 30s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			p, err := peerWithin(cmd.Context(), e.client(), args[0], wait)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, p)
			}
			return writePeer(e, p)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the node to be an online member (e.g. 30s)")
	out.register(cmd)
	return cmd
}

// peerWithin asks for a node until it is an online member or wait has
// passed; without wait it asks once.
func peerWithin(ctx context.Context, c *api.Client, node string, wait time.Duration) (api.PeerDetail, error) {
	deadline := time.Now().Add(wait)
	for {
		p, err := c.Peer(ctx, node)
		if wait == 0 || (err == nil && p.State == "member" && p.Online) {
			return p, err
		}
		if !time.Now().Before(deadline) {
			if err == nil {
				err = fmt.Errorf("%s is %s and %s after %s", node, p.State, map[bool]string{true: "online", false: "offline"}[p.Online], wait)
			}
			return p, fmt.Errorf("waited %s for %s to be an online member: %w", wait, node, err)
		}
		if err := pause(ctx); err != nil {
			return p, err
		}
	}
}

func writePeer(e *env, p api.PeerDetail) error {
	rows := [][]string{
		{"node id", p.NodeID},
		{"hostname", dash(p.Hostname)},
		{"state", p.State},
		{"role", dash(p.Role)},
		{"online", yesNo(p.Online)},
		{"reached", reachShort(p.Reach)},
	}
	if r := p.Reach; r != nil && r.Addr != "" {
		rows = append(rows, []string{"connection", r.Addr})
	}
	if r := p.Reach; r != nil && r.Why != "" {
		rows = append(rows, []string{"why", r.Why})
	}
	rows = append(rows, [][]string{
		{"last seen", ago(p.LastSeen)},
		{"age recipient", dash(p.AgeRecipient)},
		{"version", dash(p.AgentVersion)},
		{"addresses", dash(strings.Join(p.Addrs, " "))},
	}...)
	if s := p.Sysinfo; s != nil {
		rows = append(rows,
			[]string{"uptime", (time.Duration(s.UptimeSeconds) * time.Second).String()},
			[]string{"load", fmt.Sprintf("%.2f %.2f %.2f", s.Load[0], s.Load[1], s.Load[2])},
			[]string{"memory", fmt.Sprintf("%s used of %s", bytesIEC(s.MemUsed), bytesIEC(s.MemTotal))})
		for _, d := range s.Disks {
			rows = append(rows, []string{"disk " + d.Mountpoint, fmt.Sprintf("%.0f%% of %s (%s)", d.UsedPercent, bytesIEC(d.Total), d.FSType)})
		}
		for _, i := range s.Interfaces {
			rows = append(rows, []string{"interface " + i.Name, dash(strings.Join(i.Addrs, " "))})
		}
	}
	return table(e.stdout, rows)
}

// reachShort says how a member is reached: "relayed via 12D3KooW…".
func reachShort(r *api.Reach) string {
	switch {
	case r == nil:
		return "-"
	case r.Via != "":
		return r.How + " via " + shortID(r.Via)
	}
	return r.How
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortRecipient(r string) string {
	if len(r) > 20 {
		return r[:20] + "…"
	}
	return dash(r)
}

// ago says how long ago t was, coarsely.
func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	d := time.Since(*t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
