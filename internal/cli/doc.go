// Package cli is the credmesh command line: one file per subcommand, the
// global flags, logging set-up and output formats. Commands that need the
// running daemon talk to it through the control socket (api.Client).
//
// cli sits on top: it imports node, api, identity and store; only
// cmd/credmesh imports it.
package cli
