package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"

	"github.com/spf13/cobra"
)

func newStatusCmd(e *env) *cobra.Command {
	var out output
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's status",
		Long: `status asks the running daemon for its node ID, hostname, role, uptime,
version and counts. With --wait it first waits up to that long for a daemon
that is starting to answer (for scripts that start one in the background).`,
		Example: `  credmesh status
  credmesh status --wait 30s   # after starting the daemon in the background
  credmesh status -o json | jq .role`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			s, err := statusWithin(cmd.Context(), e.client(), wait)
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
				{"reachability", reachabilityText(s.Gossip)},
				{"records", recordCounts(s.Counts.Records)},
				{"refused", recordCounts(s.Counts.Rejects)},
				{"dropped unseen", recordCounts(s.Counts.Dropped)},
				{"credentials", credentialsText(s.Credentials)},
				{"audit events", fmt.Sprint(s.Counts.Events)},
			})
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the daemon to answer (e.g. 30s)")
	out.register(cmd)
	return cmd
}

// reachabilityText says whether this node is dialable from anywhere and
// how it reaches the other members.
func reachabilityText(g api.Gossip) string {
	what := g.Reachability
	switch what {
	case "public":
		what = "public (relays for members)"
	case "private":
		what = "private (reached through member relays)"
	}
	var parts []string
	for _, how := range []string{api.ReachDirect, api.ReachHolePunched, api.ReachRelayed, api.ReachUnreachable} {
		if n := g.Reached[how]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, how))
		}
	}
	if len(parts) > 0 {
		what += "; members " + strings.Join(parts, ", ")
	}
	return dash(what)
}

// statusWithin asks for the status, retrying while no daemon answers yet,
// until wait has passed.
func statusWithin(ctx context.Context, c *api.Client, wait time.Duration) (api.Status, error) {
	deadline := time.Now().Add(wait)
	for {
		s, err := c.Status(ctx)
		if !errors.Is(err, api.ErrNotRunning) {
			return s, err
		}
		if !time.Now().Before(deadline) {
			if wait > 0 {
				err = fmt.Errorf("no daemon answered within %s: %w", wait, err)
			}
			return s, err
		}
		if err := pause(ctx); err != nil {
			return s, err
		}
	}
}

// pause waits between two polls of the daemon (--wait), or until ctx ends.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
		return nil
	}
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
	if k := keyText(c.Key); k != "" {
		t += ", encrypted by " + k
	}
	if c.State != "ok" {
		t += fmt.Sprintf(" (%d failing: %s)", c.Failing, c.Reason)
	}
	return t
}

// keyText says what encrypts credentials (api.Credentials.Key); a
// spawned systemd-creds is named as it is.
func keyText(key string) string {
	switch key {
	case "host":
		return "the host key (in process)"
	case "host+tpm2":
		return "systemd-creds (host key + TPM2)"
	case "plain":
		return "nothing (plain files, demo)"
	}
	return key
}
