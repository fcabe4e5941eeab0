package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/node"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log",
	}
	cmd.AddCommand(newAuditListCmd(e))
	return cmd
}

func newAuditListCmd(e *env) *cobra.Command {
	var out output
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first",
		Long: `list reads the audit log straight from the store (read-only), so it works
whether or not the daemon is running.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if limit < 1 || limit > store.MaxEventsPage {
				return usageError{fmt.Errorf("--limit must be between 1 and %d", store.MaxEventsPage)}
			}
			st, err := store.OpenReadOnly(cmd.Context(), node.StorePath(e.dataDir))
			if err != nil {
				return err
			}
			defer st.Close()
			es, err := st.Events(cmd.Context(), store.EventFilter{Limit: limit})
			if err != nil {
				return err
			}
			page := web.EventsResponse(es, limit)
			if out.json() {
				return writeJSON(e.stdout, page)
			}
			rows := [][]string{{"ID", "TIME", "TYPE", "NODE", "SECRET", "MESSAGE", "DATA"}}
			for _, ev := range page.Events {
				data := ""
				if len(ev.Data) > 0 {
					b, _ := json.Marshal(ev.Data)
					data = string(b)
				}
				rows = append(rows, []string{fmt.Sprint(ev.ID), ev.Time.Format("2006-01-02T15:04:05Z"),
					ev.Type, shortID(ev.Node), ev.Secret, ev.Message, data})
			}
			return table(e.stdout, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many events to show")
	out.register(cmd)
	return cmd
}

// shortID shortens a node ID for tables; -o json shows it whole.
func shortID(id string) string {
	if len(id) > 16 {
		return id[:16] + "…"
	}
	return id
}
