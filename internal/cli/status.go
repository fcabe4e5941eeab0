package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newStatusCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's status",
		Args:  noArgs,
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
			return table(e.stdout, [][]string{
				{"node id", s.NodeID},
				{"hostname", s.Hostname},
				{"age recipient", s.AgeRecipient},
				{"version", s.Version},
				{"uptime", uptime.String()},
				{"data dir", s.DataDir},
				{"audit events", fmt.Sprint(s.Counts.Events)},
			})
		},
	}
	out.register(cmd)
	return cmd
}
