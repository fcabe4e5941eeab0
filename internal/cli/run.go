package cli

import (
	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/node"
)

func newRunCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the node daemon until SIGINT or SIGTERM",
		Long: `run starts this node: it creates the identity if there is none, opens the
store, serves the API on the control socket (control.sock in the data dir)
and tells systemd when it is ready. SIGINT or SIGTERM stop it gracefully
within 5 seconds (exit 0); a failing component stops it with exit 1.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := node.Config{DataDir: e.dataDir}
			return node.Run(cmd.Context(), cfg, e.logger(e.stderr), nil)
		},
	}
	return cmd
}
