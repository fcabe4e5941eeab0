package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

func newSecretSetCmd(e *env) *cobra.Command {
	var targets, restart []string
	var file string
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Write a new version of a secret for its targets (value on stdin, --file or a prompt)",
		Long: `set encrypts the value to each target's age key and writes one new version per
target, in one share group, then gossips it. NAME must be a valid systemd
credential name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}, no "..".

Without --target it writes every copy of NAME (a shared secret is one
secret: every target of its share group gets the new value, at one
version), or, for a new NAME, this node's. --target narrows or chooses the
targets; copies left on another version show as diverged in "secret list".
A plain node writes only its own copy: when NAME is shared with other
nodes, set without --target refuses and writes nothing (an admin sets it
for all, or --target THIS-NODE writes only this node's copy).

The value is read from --file or a pipe, byte for byte (no newline is
added or removed); on a terminal it is asked twice without echo and stored
without the newline. An empty value is refused unless --allow-empty.`,
		Example: `  credmesh secret set db-password < password.txt
  credmesh secret set db-password --file password.txt --target web1 --target web2
  printf %s "$TOKEN" | credmesh secret set api-token --restart app.service
  credmesh secret set db-password          # on a terminal: asks twice, no echo
  credmesh secret set feature-flag --allow-empty < /dev/null`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := record.ValidName(name); err != nil {
				return usageError{err}
			}
			if err := checkUnits(restart); err != nil {
				return err
			}
			value, err := readValue(e, name, file)
			if err != nil {
				return err
			}
			if len(value) == 0 && !allowEmpty {
				return usageError{fmt.Errorf("the value of %s is empty; nothing was stored (pass --allow-empty to store an empty secret)", name)}
			}
			res, err := e.client().SetSecret(cmd.Context(), api.SetSecret{Name: name, Targets: targets, Value: value,
				Restart: restart, AllowEmpty: allowEmpty})
			if err != nil {
				return err
			}
			return printWrites(e, res)
		},
	}
	cmd.Flags().StringArrayVar(&targets, "target", nil, "target node (ID, unique prefix or hostname; repeatable; default every copy of NAME, or this node for a new NAME)")
	cmd.Flags().StringVar(&file, "file", "", "read the value from this file instead of stdin")
	cmd.Flags().StringArrayVar(&restart, "restart", nil, "unit to try-restart on the target when the credential changes (repeatable)")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "store an empty value (refused otherwise)")
	return cmd
}

// checkUnits refuses bad --restart units before anything is read or sent.
func checkUnits(units []string) error {
	if len(units) > record.MaxRestart {
		return usageError{fmt.Errorf("at most %d --restart units", record.MaxRestart)}
	}
	for _, u := range units {
		if err := record.ValidUnit(u); err != nil {
			return usageError{fmt.Errorf("--restart: %w", err)}
		}
	}
	return nil
}

// readValue returns the value to store: the bytes of --file or of stdin,
// exactly, or, when stdin is a terminal, what the user types twice
// without echo. More than MaxPlaintext bytes are refused before anything
// is sent.
func readValue(e *env, name, file string) ([]byte, error) {
	var r io.Reader = e.stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read value: %w", err)
		}
		defer f.Close()
		r = f
	} else if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptValue(e, int(f.Fd()), name)
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

// errMismatch refuses a value typed differently the second time.
var errMismatch = errors.New("the two values typed differ; nothing was stored")

// promptValue asks for the value on the terminal fd twice, without echo,
// and returns it without the newline that ends each line.
func promptValue(e *env, fd int, name string) ([]byte, error) {
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, fmt.Errorf("read value from the terminal: %w", err)
		}
		return b, nil
	}
	first, err := read("value of " + name + " (not shown): ")
	if err != nil {
		return nil, err
	}
	second, err := read("the same again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(first, second) {
		return nil, errMismatch
	}
	if len(first) > record.MaxPlaintext {
		return nil, record.ErrTooLarge
	}
	return first, nil
}
