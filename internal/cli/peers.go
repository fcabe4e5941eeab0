package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
)

func newPeersCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List, add and inspect the nodes this node knows",
	}
	cmd.AddCommand(newPeersListCmd(e), newPeersAddCmd(e), newPeersShowCmd(e),
		newPeerActionCmd(e, "approve", "Trust a pending node and admit it to the mesh"),
		newPeerActionCmd(e, "ignore", "Stop listing a pending node (it stays untrusted)"),
		newPeerActionCmd(e, "revoke", "Revoke a node for good: a signed revoke that beats every admit"))
	return cmd
}

func newPeerActionCmd(e *env, action, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   action + " NODE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.client().PeerAction(cmd.Context(), args[0], action, reason); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %s done\n", args[0], action)
			return nil
		},
	}
	if action == "revoke" {
		cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the revoke record)")
		cmd.Long = `revoke publishes a signed revoke record. It is final: it beats every admit, past
or future, survives restarts and partitions; every node stops accepting the
node's records, meshing with it and accepting its connections, and flags
every secret it could read or wrote as needing rotation.`
	}
	return cmd
}

func newPeersListCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List members, pending and revoked nodes",
		Args:  noArgs,
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
			rows := [][]string{{"NODE", "HOSTNAME", "STATE", "ONLINE", "LAST SEEN", "AGE RECIPIENT"}}
			for _, p := range ps.Peers {
				rows = append(rows, []string{shortID(p.NodeID), dash(p.Hostname), p.State, yesNo(p.Online),
					ago(p.LastSeen), shortRecipient(p.AgeRecipient)})
			}
			return table(e.stdout, rows)
		},
	}
	out.register(cmd)
	return cmd
}

func newPeersAddCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "add TICKET",
		Short: "Trust the node a ticket names, admit it to the mesh and dial it",
		Long: `add trusts the node named by TICKET (remembered across restarts), publishes
a signed admit record so that every node trusting this one trusts it too,
and dials it. This node's own ticket is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := e.client().AddPeer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if res.Added {
				fmt.Fprintf(e.stdout, "added %s\n", res.NodeID)
			} else {
				fmt.Fprintf(e.stdout, "%s was already trusted\n", res.NodeID)
			}
			return nil
		},
	}
}

func newPeersShowCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "show NODE",
		Short: "Show one node: a node ID, a unique prefix of one, or a unique hostname",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			p, err := e.client().Peer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, p)
			}
			return writePeer(e, p)
		},
	}
	out.register(cmd)
	return cmd
}

func writePeer(e *env, p api.PeerDetail) error {
	rows := [][]string{
		{"node id", p.NodeID},
		{"hostname", dash(p.Hostname)},
		{"state", p.State},
		{"online", yesNo(p.Online)},
		{"last seen", ago(p.LastSeen)},
		{"age recipient", dash(p.AgeRecipient)},
		{"version", dash(p.AgentVersion)},
		{"addresses", dash(strings.Join(p.Addrs, " "))},
	}
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
