package cli

import (
	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/node"
)

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run three nodes on loopback with a sample secret, until Ctrl-C",
		Long: `demo starts three nodes (alpha, bravo, charlie) in one process on loopback,
in a temporary directory, joins them, has alpha write a sample secret for
bravo and share it with charlie, and prints each node's web UI. Credentials
are written with systemd-creds when run as root, else as plain files (it
says so). Ctrl-C stops the nodes and removes the directory.`,
		Example: `  credmesh demo
  go run ./cmd/credmesh demo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e.logLevelDefault("warn")
			return node.Demo(cmd.Context(), e.stdout, e.logger(e.stderr))
		},
	}
}
