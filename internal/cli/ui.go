package cli

import (
	"fmt"
	"os/exec"
	"time"

	"github.com/spf13/cobra"
)

func newUICmd(e *env) *cobra.Command {
	var open bool
	var out output
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Print a one-time login URL for this node's web UI",
		Long: `ui asks the running daemon, through its control socket, for a login URL for
its web UI. The URL signs one browser in (a session cookie, valid 12 hours)
and works once, within 10 minutes. Only a user who may use the control
socket gets one: the web UI asks every request for a session or the token
in web.token, on loopback too. --open also starts a browser (xdg-open).`,
		Example: `  credmesh ui
  credmesh ui --open`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			res, err := e.client().LoginURL(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, res)
			}
			fmt.Fprintln(e.stdout, res.URL)
			fmt.Fprintf(e.stderr, "works once, until %s\n", res.Expires.Local().Format(time.Kitchen))
			if open {
				if err := exec.Command("xdg-open", res.URL).Start(); err != nil {
					return fmt.Errorf("open a browser: %w (open the URL above yourself)", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "also open the URL in a browser (xdg-open)")
	out.register(cmd)
	return cmd
}
