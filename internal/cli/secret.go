package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

func newSecretCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set, read, list, share and delete secrets",
	}
	cmd.AddCommand(newSecretSetCmd(e), newSecretGetCmd(e), newSecretListCmd(e), newSecretHistoryCmd(e),
		newSecretShareCmd(e), newSecretRmCmd(e))
	return cmd
}

func newSecretSetCmd(e *env) *cobra.Command {
	var targets, restart []string
	var file string
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Write a new version of a secret for its targets (value on stdin or --file)",
		Long: `set encrypts the value to each target's age key and writes one new version per
target (default: this node), in one share group, then gossips it. NAME must
be a valid systemd credential name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}, no "..".
The value is read from --file or stdin, byte for byte, at most 1 MiB.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := record.ValidName(args[0]); err != nil {
				return usageError{err}
			}
			value, err := readValue(e, file)
			if err != nil {
				return err
			}
			res, err := e.client().SetSecret(cmd.Context(), api.SetSecret{Name: args[0], Targets: targets, Value: value, Restart: restart})
			if err != nil {
				return err
			}
			return printWrites(e, res)
		},
	}
	cmd.Flags().StringArrayVar(&targets, "target", nil, "target node (ID, unique prefix or hostname; repeatable; default this node)")
	cmd.Flags().StringVar(&file, "file", "", "read the value from this file instead of stdin")
	cmd.Flags().StringArrayVar(&restart, "restart", nil, "unit to try-restart on the target when the credential changes (repeatable)")
	return cmd
}

// readValue reads at most MaxPlaintext bytes, refusing more before sending
// anything.
func readValue(e *env, file string) ([]byte, error) {
	var r io.Reader = e.stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, record.MaxPlaintext+1))
	if err != nil {
		return nil, fmt.Errorf("read value: %w", err)
	}
	if len(b) > record.MaxPlaintext {
		return nil, record.ErrTooLarge
	}
	return b, nil
}

func printWrites(e *env, res api.SecretWrites) error {
	for _, w := range res.Writes {
		what := "version"
		if w.Tombstone {
			what = "deleted as version"
		}
		fmt.Fprintf(e.stdout, "%s for %s: %s %d (record %s)\n", w.Name, nodeLabel(w.Target, w.Hostname), what, w.Version, w.Record[:12])
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
form described in docs/secrets.md.`,
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

func newSecretListCmd(e *env) *cobra.Command {
	var out output
	var target string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List current secrets by name with their targets (never their values)",
		Args:  noArgs,
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
			rows := [][]string{{"NAME", "TARGET", "VERSION", "ROLLOUT", "AUTHOR", "UPDATED", "RECORD", "NEEDS ROTATION"}}
			for _, s := range list.Secrets {
				for i, t := range s.Targets {
					name := s.Name
					if i > 0 {
						name = ""
					}
					rows = append(rows, []string{name, nodeLabel(t.Target, t.Hostname), fmt.Sprint(t.Version), rolloutText(t.Rollout),
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
		Args:  cobra.ExactArgs(1),
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

func newSecretShareCmd(e *env) *cobra.Command {
	var to []string
	cmd := &cobra.Command{
		Use:   "share NAME --to NODE...",
		Short: "Copy a secret to more nodes, in the same share group",
		Long: `share re-encrypts this node's own copy of NAME (or, on the node that wrote it,
the copy it kept) for each --to node.`,
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
back; setting the name again later writes a new, higher version.`,
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
