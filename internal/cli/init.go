package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/node"
)

type initResult struct {
	Created      bool   `json:"created"`
	DataDir      string `json:"data_dir"`
	NodeID       string `json:"node_id"`
	AgeRecipient string `json:"age_recipient"`
	Ticket       string `json:"ticket"`
}

func newInitCmd(e *env) *cobra.Command {
	var ticketFile string
	var out output
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create this node's identity (once) and print its ticket",
		Long: `init creates the data dir (0700), the node key (node.key) and the age key
(age.key), both 0600. Run again, it keeps the existing identity and says so.
It prints the node ID, the age recipient and the ticket other nodes need.`,
		Example: `  credmesh init
  credmesh --data-dir /tmp/a init --ticket-file /tmp/a.ticket
  credmesh init -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			id, created, err := identity.LoadOrCreate(e.dataDir, time.Now())
			if err != nil {
				return err
			}
			ticket, live, err := currentTicket(cmd, e, id)
			if err != nil {
				return err
			}
			if !live {
				fmt.Fprintln(e.stderr, offlineTicketNote)
			}
			if ticketFile != "" {
				if err := writeTicketFile(ticketFile, ticket); err != nil {
					return err
				}
			}
			res := initResult{Created: created, DataDir: e.dataDir, NodeID: id.NodeID.String(),
				AgeRecipient: id.Recipient(), Ticket: ticket}
			if out.json() {
				return writeJSON(e.stdout, res)
			}
			if created {
				fmt.Fprintf(e.stdout, "created a new identity in %s\n", e.dataDir)
			} else {
				fmt.Fprintf(e.stdout, "identity already exists in %s; keeping it\n", e.dataDir)
			}
			return table(e.stdout, [][]string{
				{"node id", res.NodeID},
				{"age recipient", res.AgeRecipient},
				{"ticket", res.Ticket},
			})
		},
	}
	cmd.Flags().StringVar(&ticketFile, "ticket-file", "", "also write the ticket to this file")
	out.register(cmd)
	return cmd
}

// currentTicket asks the running daemon for its ticket (it knows the
// addresses it listens on; live is true) and falls back to this machine's
// addresses on the default port when no daemon runs.
func currentTicket(cmd *cobra.Command, e *env, id *identity.Identity) (ticket string, live bool, err error) {
	t, err := e.client().Ticket(cmd.Context())
	if err == nil {
		return t.Ticket, true, nil
	}
	if !errors.Is(err, api.ErrNotRunning) {
		return "", false, err
	}
	return node.OfflineTicket(id).String(), false, nil
}

// writeTicketFile writes the ticket (public, so 0644) with a newline.
func writeTicketFile(path, ticket string) error {
	if err := os.WriteFile(path, []byte(ticket+"\n"), 0o644); err != nil {
		return fmt.Errorf("write ticket file: %w", err)
	}
	return nil
}
