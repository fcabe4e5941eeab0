package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/node"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "audit",
		Short:   "Read the audit log",
		Example: `  credmesh audit list --limit 20`,
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
whether or not the daemon is running, and on a data dir that "init" made but
no daemon has run with yet (there are no events then, and it says so).`,
		Example: `  credmesh audit list
  credmesh audit list --limit 200 -o json | jq '.events[] | select(.type == "record.rejected")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if limit < 1 || limit > node.MaxEventsPage {
				return usageError{fmt.Errorf("--limit must be between 1 and %d", node.MaxEventsPage)}
			}
			path := node.StorePath(e.dataDir)
			if fresh, err := neverRan(e.dataDir, path); err != nil || fresh {
				if err != nil {
					return err
				}
				if out.json() {
					return writeJSON(e.stdout, api.Events{Events: []api.Event{}})
				}
				_, err := fmt.Fprintf(e.stdout, "no audit events yet: no daemon has run with data dir %s\n", e.dataDir)
				return err
			}
			page, err := node.ReadAudit(cmd.Context(), e.dataDir, limit)
			if err != nil {
				return err
			}
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

// neverRan reports whether the data dir is initialised but holds no store
// yet (no daemon has run with it); a data dir without an identity is an
// error that says to run init.
func neverRan(dataDir, storePath string) (bool, error) {
	_, err := os.Stat(storePath)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("open store: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, identity.NodeKeyFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("%w in %s (run: credmesh init)", identity.ErrNoIdentity, dataDir)
		}
		return false, fmt.Errorf("read data dir: %w", err)
	}
	return true, nil
}

// shortID shortens a node ID for tables; -o json shows it whole.
func shortID(id string) string {
	if len(id) > 16 {
		return id[:16] + "…"
	}
	return id
}
