package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks errors in how a command was called (exit code 2).
type usageError struct{ error }

// exitCode is the one place errors become exit codes: 2 for a usage
// error (a missing or extra argument, an unknown command or flag, a bad
// flag value), 1 for anything else.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageArgs makes every argument check in the tree under cmd a usage
// error, and gives each command that only groups others (secret, peers,
// audit, the root) checks for a missing or unknown subcommand: cobra
// itself prints the help and exits 0 for those.
func usageArgs(cmd *cobra.Command) {
	switch {
	case cmd.HasSubCommands() && !cmd.Runnable():
		cmd.Args = unknownCommand
		cmd.RunE = missingCommand
	case cmd.Args != nil:
		check := cmd.Args
		cmd.Args = func(c *cobra.Command, args []string) error {
			err := check(c, args)
			var ue usageError
			if err == nil || errors.As(err, &ue) {
				return err
			}
			return usageError{fmt.Errorf("%s: %w (usage: %s)", c.CommandPath(), err, c.UseLine())}
		}
	}
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
}

// unknownCommand refuses any argument of a command that only groups
// subcommands: it names no subcommand of it.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{fmt.Errorf("unknown command %q for %q (commands: %s)%s", args[0], cmd.CommandPath(), subcommands(cmd), hint)}
}

// missingCommand prints the usage of a command that only groups
// subcommands, called without one, and fails as a usage error.
func missingCommand(cmd *cobra.Command, _ []string) error {
	fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
	return usageError{fmt.Errorf("%s needs a command: %s", cmd.CommandPath(), subcommands(cmd))}
}

func subcommands(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return strings.Join(names, ", ")
}

// newHelpCmd replaces cobra's help command, which prints "Unknown help
// topic" and exits 0 for a command that does not exist.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND...]",
		Short: "Help about any command",
		Example: `  credmesh help
  credmesh help secret set`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			target, rest, err := root.Find(args)
			if err != nil {
				return usageError{err}
			}
			if len(rest) > 0 {
				return usageError{fmt.Errorf("no help topic %q: unknown command %q for %q", strings.Join(args, " "), rest[0], target.CommandPath())}
			}
			return target.Help()
		},
	}
}

// completionExamples gives cobra's completion commands examples, as every
// other command has.
func completionExamples(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  credmesh completion bash > /etc/bash_completion.d/credmesh
  source <(credmesh completion zsh)`
		for _, sh := range c.Commands() {
			sh.Example = "  credmesh completion " + sh.Name() + " --help"
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(credmesh completion bash)"
			case "zsh":
				sh.Example = "  credmesh completion zsh > \"${fpath[1]}/_credmesh\""
			case "fish":
				sh.Example = "  credmesh completion fish > ~/.config/fish/completions/credmesh.fish"
			case "powershell":
				sh.Example = "  credmesh completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}
