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
carries the addresses the daemon listens on; without, this machine's
addresses on the default port. A ticket is public: it grants nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := identity.Load(e.dataDir)
			if err != nil {
				return err
			}
			t, err := currentTicket(cmd, e, id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, t)
			return err
		},
	}
}
