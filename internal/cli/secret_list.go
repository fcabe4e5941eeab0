package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
)

func newSecretListCmd(e *env) *cobra.Command {
	var out output
	var target string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List current secrets by name with their targets (never their values)",
		Long: `list shows the current version of every secret for each of its targets:
its rollout (what the target reported), author, record and whether it needs
rotation. COPIES says whether the copies of a shared secret hold one write
("in sync") or differ in version ("diverged": some target holds another
value; "secret set NAME" from an admin writes them all again); -o json has
"diverged" per name and per target.`,
		Example: `  credmesh secret list
  credmesh secret list --target web1
  credmesh secret list -o json | jq '.secrets[] | select(.diverged)'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			list, err := e.client().Secrets(cmd.Context(), target)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, list)
			}
			rows := [][]string{{"NAME", "TARGET", "VERSION", "COPIES", "ROLLOUT", "AUTHOR", "UPDATED", "RECORD", "NEEDS ROTATION"}}
			for _, s := range list.Secrets {
				for i, t := range s.Targets {
					name := s.Name
					if i > 0 {
						name = ""
					}
					rows = append(rows, []string{name, nodeLabel(t.Target, t.Hostname), fmt.Sprint(t.Version), copiesText(s, t), rolloutText(t.Rollout),
						nodeLabel(t.Author, t.AuthorHostname), t.Updated.Format("2006-01-02 15:04:05"), t.Record[:12], dash(t.NeedsRotation)})
				}
			}
			return table(e.stdout, rows)
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "only secrets for this node")
	out.register(cmd)
	return cmd
}

func newSecretHistoryCmd(e *env) *cobra.Command {
	var out output
	var target string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List every version of a secret, newest first",
		Example: `  credmesh secret history db-password
  credmesh secret history db-password --target web1 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			h, err := e.client().History(cmd.Context(), args[0], target)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(e.stdout, h)
			}
			rows := [][]string{{"TARGET", "VERSION", "STATE", "AUTHOR", "CREATED", "RECORD", "CIPHERTEXT SHA-256"}}
			for _, v := range h.Versions {
				state := "old"
				switch {
				case !v.Counts:
					state = "refused"
				case v.Current && v.Tombstone:
					state = "deleted, " + rolloutText(v.Rollout)
				case v.Current:
					state = "current, " + rolloutText(v.Rollout)
				case v.Tombstone:
					state = "deletion"
				}
				hash := "-"
				if v.CipherHash != "" {
					hash = v.CipherHash[:16]
				}
				rows = append(rows, []string{nodeLabel(v.Target, v.Hostname), fmt.Sprint(v.Version), state,
					nodeLabel(v.Author, v.AuthorHostname), v.Updated.Format("2006-01-02 15:04:05"), v.Record[:12], hash})
			}
			return table(e.stdout, rows)
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "only versions for this node")
	out.register(cmd)
	return cmd
}

// copiesText says whether a copy's share group holds one version (in
// sync) or several (diverged: its copies hold the values of different
// writes).
func copiesText(s api.Secret, t api.SecretTarget) string {
	if t.Diverged {
		return "diverged"
	}
	for _, o := range s.Targets {
		if o.Target != t.Target && o.Group == t.Group {
			return "in sync"
		}
	}
	return "-"
}
