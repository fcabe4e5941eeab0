package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/identity"
)

func newTicketCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ticket",
		Short: "Print this node's ticket",
		Long: `ticket prints the string another node's operator gives to "credmesh peers
add" (or "credmesh run") to reach this node. With the daemon running it
carries the addresses the daemon listens on. Without it, it carries this
machine's addresses on the default port (7101), which may not be where the
daemon will listen (--listen), and says so on stderr. A ticket is public: it
grants nothing.`,
		Example: `  credmesh ticket
  credmesh ticket > /tmp/a.ticket`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := identity.Load(e.dataDir)
			if err != nil {
				return err
			}
			t, live, err := currentTicket(cmd, e, id)
			if err != nil {
				return err
			}
			if !live {
				fmt.Fprintln(e.stderr, offlineTicketNote)
			}
			_, err = fmt.Fprintln(e.stdout, t)
			return err
		},
	}
}

// offlineTicketNote goes to stderr with a ticket made without the daemon.
const offlineTicketNote = "credmesh: the daemon is not running, so this ticket carries this machine's addresses on the default port, not the daemon's live addresses; run ticket again while the daemon runs for those"
