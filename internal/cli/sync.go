package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSyncCmd(e *env) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "sync [--node NODE]",
		Short: "Rewrite every systemd credential of this node, or ask NODE to rewrite its own",
		Long: `sync makes the credential writer rewrite all of this node's credentials now.
With --node it sends a signed sync request straight to NODE and waits (at
most 5 seconds) for NODE to confirm it. Both sides audit it.

A sync request is not stored or queued. When NODE cannot be reached (it is
offline) or does not confirm, sync says so and exits 1; once back, NODE
catches up and writes every changed secret by itself, and "sync --node
NODE" then forces a full rewrite.`,
		Example: `  credmesh sync
  credmesh sync --node web1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := e.client().Sync(cmd.Context(), node)
			if err != nil {
				return err
			}
			if res.Local {
				fmt.Fprintln(e.stdout, "rewriting this node's credentials")
			} else {
				fmt.Fprintf(e.stdout, "asked %s to rewrite its credentials\n", res.Target)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "node to ask (ID, unique prefix or hostname; default this node)")
	return cmd
}
