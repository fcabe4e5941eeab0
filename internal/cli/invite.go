package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newInviteCmd(e *env) *cobra.Command {
	var ttl, role string
	var out output
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print a one-time invite ticket",
		Long: `invite prints a ticket carrying a one-time token (valid 24h by default). A new
node joins with one command, "credmesh run INVITE" (or "peers add INVITE" on
a running node): it presents the token, this node checks it (once only,
before it expires) and publishes an admit record for it with the role
the invite gives (--role, default node). Only an admin makes invites.`,
		Example: `  credmesh invite
  credmesh invite --role admin --expires 1h`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if err := checkRole(role); err != nil {
				return err
			}
			if d, err := time.ParseDuration(ttl); err != nil || d <= 0 || d > 30*24*time.Hour {
				return usageError{fmt.Errorf("--expires must be a duration up to 720h, like 24h or 30m, not %q", ttl)}
			}
			res, err := e.client().Invite(cmd.Context(), ttl, role)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, res)
			}
			_, err = fmt.Fprintln(e.stdout, res.Ticket)
			return err
		},
	}
	cmd.Flags().StringVar(&ttl, "expires", "24h", "how long the invite stays valid")
	cmd.Flags().StringVar(&role, "role", "node", "the role the new node gets: admin or node")
	out.register(cmd)
	return cmd
}
