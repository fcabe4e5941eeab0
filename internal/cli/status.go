package cli

import (
	"fmt"

	"sort"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"

	"github.com/spf13/cobra"
)

func newStatusCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's status",
		Example: `  credmesh status
  credmesh status -o json | jq .role`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			s, err := e.client().Status(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, s)
			}
			uptime := time.Duration(s.UptimeSeconds * float64(time.Second)).Round(time.Second)
			role := s.Role
			if r := s.Revoked; r != nil {
				role = fmt.Sprintf("REVOKED by %s at %s: %s", strings.Join(r.By, ", "), r.At.Format(time.RFC3339), dash(r.Reason))
			}
			return table(e.stdout, [][]string{
				{"node id", s.NodeID},
				{"hostname", s.Hostname},
				{"role", role},
				{"age recipient", s.AgeRecipient},
				{"version", s.Version},
				{"uptime", uptime.String()},
				{"data dir", s.DataDir},
				{"web UI", dash(s.Web)},
				{"peers", fmt.Sprintf("%d members (%d online), %d pending", s.Counts.Members, s.Counts.Online, s.Counts.Pending)},
				{"records", recordCounts(s.Counts.Records)},
				{"refused", recordCounts(s.Counts.Rejects)},
				{"dropped unseen", recordCounts(s.Counts.Dropped)},
				{"credentials", credentialsText(s.Credentials)},
				{"audit events", fmt.Sprint(s.Counts.Events)},
			})
		},
	}
	out.register(cmd)
	return cmd
}

func recordCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

func credentialsText(c api.Credentials) string {
	t := fmt.Sprintf("%s, %d written in %s", c.State, c.Written, c.Dir)
	if c.State != "ok" {
		t += fmt.Sprintf(" (%d failing: %s)", c.Failing, c.Reason)
	}
	return t
}
