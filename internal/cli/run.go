package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/node"
)

func newRunCmd(e *env) *cobra.Command {
	var cfg node.Config
	cmd := &cobra.Command{
		Use:   "run [TICKET...]",
		Short: "Run the node daemon until SIGINT or SIGTERM",
		Long: `run starts this node: it creates the identity if there is none, opens the
store, joins the mesh (libp2p on QUIC and TCP, GossipSub, mDNS on the LAN),
serves the API on the control socket (control.sock in the data dir) and tells
systemd when it is ready. Each TICKET names a node to trust and dial; trust
is remembered, so later starts need no ticket. SIGINT or SIGTERM stop it
gracefully within 5 seconds (exit 0); a failing component stops it with
exit 1.`,
		Example: `  credmesh run
  credmesh run "$(cat /tmp/a.ticket)"
  credmesh --data-dir /tmp/b run --listen /ip4/127.0.0.1/tcp/7202 --web 127.0.0.1:7110 --creds-dir /tmp/b/creds`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.DataDir = e.dataDir
			cfg.Tickets = args
			for _, t := range args {
				if _, err := identity.ParseTicket(t); err != nil {
					return usageError{fmt.Errorf("run: %q is not a ticket: %w", t, err)}
				}
			}
			if err := cfg.WithDefaults().Validate(); err != nil {
				return usageError{fmt.Errorf("run: %w", err)}
			}
			daemonRuntime(os.Getenv)
			return node.Run(cmd.Context(), cfg, e.logger(e.stderr), nil)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&cfg.Listen, "listen", node.DefaultListen, "libp2p listen multiaddr (repeatable)")
	f.StringVar(&cfg.Cluster, "cluster", node.DefaultCluster, "cluster name: the gossip topic is /credmesh/1/NAME")
	f.BoolVar(&cfg.NoMDNS, "no-mdns", false, "do not discover nodes on the LAN with mDNS")
	f.StringVar(&cfg.Reachability, "reachability", "auto", "auto, public or private: whether nodes anywhere can dial this one (public nodes relay for members; auto: public when listening on or announcing a public address)")
	f.StringArrayVar(&cfg.Announce, "announce", nil, "also advertise this multiaddr, such as a forwarded port: /ip4/198.51.100.7/tcp/7101 (repeatable)")
	f.DurationVar(&cfg.Heartbeat, "heartbeat", node.DefaultHeartbeat, "base heartbeat interval (grows with the square root of the cluster size beyond 10 members)")
	f.StringVar(&cfg.TicketFile, "ticket-file", "", "write this node's ticket to this file once it listens")
	f.DurationVar(&cfg.SyncInterval, "sync-interval", 30*time.Second, "anti-entropy interval with a random member")
	f.StringVar(&cfg.CredsDir, "creds-dir", "/etc/credstore.encrypted", "where this node's systemd credentials are written (/run/credstore.encrypted for volatile storage)")
	f.StringVar(&cfg.CredsKey, "creds-key", node.DefaultCredsKey, "what encrypts credentials: auto (the host key, in process, where there is no TPM2 device; else systemd-creds, which binds to the TPM2), host (always the host key, in process), tpm2 (systemd-creds --with-key=host+tpm2) or systemd-creds (always spawn systemd-creds with its own default key)")
	f.BoolVar(&cfg.CredsUser, "creds-user", false, "write user-scoped credentials (systemd-creds --user; systemd 256 or later)")
	f.BoolVar(&cfg.NoAutoRestart, "no-auto-restart", false, "restart only the units named on secrets, not every unit that loads the credential")
	f.StringVar(&cfg.Web, "web", "127.0.0.1:7100", "web UI address (a non-loopback address requires the token in web.token)")
	f.BoolVar(&cfg.NoWeb, "no-web", false, "no web UI (the API stays on the control socket)")
	f.StringVar(&cfg.Hostname, "hostname", "", "hostname to announce (default: the machine's)")
	_ = f.MarkHidden("hostname")
	return cmd
}
