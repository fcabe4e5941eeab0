package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
)

func newSecretCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set, read, list, share and delete secrets",
		Example: `  credmesh secret set db-password --target web1 < password.txt
  credmesh secret list
  credmesh secret share db-password --to web2`,
	}
	cmd.AddCommand(newSecretSetCmd(e), newSecretGetCmd(e), newSecretListCmd(e), newSecretHistoryCmd(e),
		newSecretShareCmd(e), newSecretRmCmd(e))
	return cmd
}

func printWrites(e *env, res api.SecretWrites) error {
	for _, w := range res.Writes {
		what := "version"
		if w.Tombstone {
			what = "deleted as version"
		}
		fmt.Fprintf(e.stdout, "%s for %s: %s %d (record %s)\n", w.Name, nodeLabel(w.Target, w.Hostname), what, w.Version, w.Record[:12])
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stdout, "not written for %s: %s\n", nodeLabel(s.Target, s.Hostname), s.Reason)
	}
	return nil
}

func nodeLabel(id, host string) string {
	if host != "" {
		return host + " (" + shortID(id) + ")"
	}
	return shortID(id)
}

func newSecretGetCmd(e *env) *cobra.Command {
	var ciphertext bool
	var target string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print this node's own copy of a secret, exact bytes, to stdout",
		Long: `get prints the current version of NAME addressed to this node. With
--ciphertext it prints the stored age file instead (for any --target, since
every member stores it); it decrypts with "age -d -i age.key" to the padded
form described in docs/secrets.md. When this node is not a target, it says
which nodes are.`,
		Example: `  credmesh secret get db-password > password.txt
  credmesh secret get db-password --ciphertext --target web1 > db-password.age`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ciphertext {
				ct, err := e.client().Ciphertext(cmd.Context(), args[0], target)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(ct)
				return err
			}
			if target != "" {
				return usageError{errors.New("--target goes with --ciphertext: only this node's own copy can be read")}
			}
			res, err := e.client().Reveal(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(res.Value)
			return err
		},
	}
	cmd.Flags().BoolVar(&ciphertext, "ciphertext", false, "print the stored age ciphertext instead of the value")
	cmd.Flags().StringVar(&target, "target", "", "with --ciphertext: whose copy (default this node)")
	return cmd
}

func newSecretShareCmd(e *env) *cobra.Command {
	var to []string
	cmd := &cobra.Command{
		Use:   "share NAME --to NODE...",
		Short: "Copy a secret to more nodes, in the same share group",
		Long: `share re-encrypts the newest value of NAME for each --to node, in the same
share group and at the same version, so the new copy is one more copy of the
same secret. The value comes from this node's own copy, or, on the node that
wrote NAME for others, the copy it kept of what it wrote. A node can only
decrypt those: when a target has since written a newer version, share says
so and refuses (it would hand out an older value); set the value again
("secret set NAME" writes every copy) and share then. A --to node that
already holds the version is left alone.`,
		Example: `  credmesh secret share db-password --to web2
  credmesh secret share db-password --to web2 --to web3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(to) == 0 {
				return usageError{errors.New("share needs at least one --to NODE")}
			}
			res, err := e.client().Share(cmd.Context(), args[0], to)
			if err != nil {
				return err
			}
			return printWrites(e, res)
		},
	}
	cmd.Flags().StringArrayVar(&to, "to", nil, "node to share with (repeatable)")
	return cmd
}

func newSecretRmCmd(e *env) *cobra.Command {
	var targets []string
	cmd := &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a secret (a tombstone version; only its original author or target may)",
		Long: `rm writes a tombstone version of NAME for each --target, or, without one, for
every target this node may delete it for. Deletes replicate and never come
back; setting the name again later writes a new, higher version. A NAME
that does not exist (or not for a --target) is an error, and nothing is
deleted.`,
		Example: `  credmesh secret rm db-password
  credmesh secret rm db-password --target web2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := e.client().DeleteSecret(cmd.Context(), args[0], targets)
			if err != nil {
				return err
			}
			return printWrites(e, res)
		},
	}
	cmd.Flags().StringArrayVar(&targets, "target", nil, "target node to delete it for (repeatable)")
	return cmd
}

// rolloutText says what a target reported for the current version.
func rolloutText(r api.Rollout) string {
	if r.State == "failed" && r.Error != "" {
		e := r.Error
		if len(e) > 60 {
			e = e[:60] + "…"
		}
		return "failed: " + e
	}
	return r.State
}
