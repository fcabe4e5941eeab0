package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/node"
)

// EnvDataDir names the environment variable that sets the data dir.
const EnvDataDir = "CREDMESH_DATA_DIR"

// env is what every command shares: the global flags and the streams.
type env struct {
	dataDir   string
	logLevel  string
	logFormat string
	// logLevelSet is true when --log-level was given.
	logLevelSet bool

	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs the command line in args and returns the process exit code:
// 0 on success, 2 for a usage error, 1 for any other error (printed as one
// line on stderr).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "credmesh: %s\n", oneLine(err.Error()))
	return exitCode(err)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "credmesh",
		Short: "Peer-to-peer secrets distribution to systemd credentials",
		Long: `credmesh distributes secrets across a fleet of Linux machines. Every
machine runs one node; nodes gossip signed, age-encrypted secret records and
each target writes its secrets as systemd encrypted credentials.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if e.dataDir == "" {
				e.dataDir = os.Getenv(EnvDataDir)
			}
			if e.dataDir == "" {
				e.dataDir = node.DefaultDataDir()
			}
			e.logLevelSet = e.logLevel != ""
			if e.logLevel == "" {
				e.logLevel = "info"
			}
			if _, err := parseLevel(e.logLevel); err != nil {
				return usageError{err}
			}
			if e.logFormat != "text" && e.logFormat != "json" {
				return usageError{fmt.Errorf("--log-format must be text or json, not %q", e.logFormat)}
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.dataDir, "data-dir", "", "data directory (default $"+EnvDataDir+", else /var/lib/credmesh for root, else ~/.local/state/credmesh)")
	pf.StringVar(&e.logLevel, "log-level", "", "log level: debug, info, warn or error (default info; warn for demo)")
	pf.StringVar(&e.logFormat, "log-format", "text", "log format: text or json")
	root.Example = `  credmesh init
  credmesh run
  credmesh --data-dir /tmp/a status
  credmesh secret set db-password --target web1 < password.txt`
	root.AddCommand(
		newInitCmd(e),
		newTicketCmd(e),
		newInviteCmd(e),
		newRunCmd(e),
		newStatusCmd(e),
		newUICmd(e),
		newPeersCmd(e),
		newSecretCmd(e),
		newSyncCmd(e),
		newDemoCmd(e),
		newAuditCmd(e),
		newVersionCmd(e),
	)
	root.SetHelpCommand(newHelpCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	completionExamples(root)
	usageArgs(root)
	return root
}

// client returns an API client for the daemon serving e's data dir.
func (e *env) client() *api.Client { return api.NewClient(node.SocketPath(e.dataDir)) }

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments", cmd.CommandPath())}
	}
	return nil
}
