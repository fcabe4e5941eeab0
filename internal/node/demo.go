package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/credwriter"
)

// demoNames are the demo's three nodes and their preferred web ports.
var demoNames = []struct {
	name string
	web  int
}{{"alpha", 7100}, {"bravo", 7200}, {"charlie", 7300}}

// Demo runs three nodes on loopback in this process, in a temporary
// directory: it joins them, writes a sample secret for bravo and shares it
// with charlie, prints the three web UIs and runs until ctx ends, then
// stops them and removes everything. Credentials are written with the real
// systemd-creds when it can (root), else as plain files, and it says so.
func Demo(ctx context.Context, out io.Writer, log *slog.Logger) (err error) {
	dir, err := os.MkdirTemp("", "credmesh-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
		fmt.Fprintf(out, "removed %s\n", dir)
	}()
	plain := !credwriter.Available()
	fmt.Fprintf(out, "credmesh demo: three nodes on loopback, data in %s\n", dir)
	if plain {
		fmt.Fprintln(out, "NOTICE: not root or no systemd-creds here: credentials are written as PLAIN FILES in the demo")
		fmt.Fprintln(out, "        directories (a real node encrypts them with systemd-creds; run the demo as root to see that).")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(demoNames))
	defer func() { cancel(); wg.Wait() }()
	nodes := make([]*Node, len(demoNames))
	var first string
	for i, d := range demoNames {
		cfg := Config{
			DataDir:          filepath.Join(dir, d.name),
			CredsDir:         filepath.Join(dir, d.name, "credentials"),
			PlainCredentials: plain,
			Listen:           []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
			NoMDNS:           true,
			Hostname:         d.name,
			Web:              freeAddr(d.web),
			Heartbeat:        2 * time.Second,
			NoAutoRestart:    true,
		}
		if first != "" {
			cfg.Tickets = []string{first}
		}
		ready := make(chan *Node, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Run(ctx, cfg, log.With("node", d.name), func(n *Node) { ready <- n }); err != nil {
				errs <- fmt.Errorf("%s: %w", d.name, err)
			}
		}()
		select {
		case nodes[i] = <-ready:
		case err := <-errs:
			return err
		case <-time.After(time.Minute):
			return fmt.Errorf("%s did not start within a minute", d.name)
		}
		if i == 0 {
			t, err := nodes[0].Ticket(ctx)
			if err != nil {
				return err
			}
			first = t.Ticket
		}
	}
	for _, n := range nodes[1:] {
		t, err := n.Ticket(ctx)
		if err != nil {
			return err
		}
		if _, err := nodes[0].cmds.AddPeer(ctx, t.Ticket, "node"); err != nil {
			return err
		}
	}
	if err := waitMesh(ctx, nodes); err != nil {
		return err
	}
	if err := sampleSecret(ctx, nodes); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nthe mesh is up; alpha is the admin, bravo and charlie plain nodes; a sample secret \"demo-password\" was written by alpha for bravo and shared with charlie.")
	fmt.Fprintln(out, "web UIs (each login URL works once, within an hour; `credmesh --data-dir DIR ui` prints a new one):")
	for i, d := range demoNames {
		login, err := nodes[i].LoginURL(time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-8s %s\n           credentials in %s\n", d.name, login.URL, filepath.Join(dir, d.name, "credentials"))
	}
	fmt.Fprintf(out, "\ntry: credmesh --data-dir %s secret list\n", filepath.Join(dir, "alpha"))
	fmt.Fprintln(out, "press Ctrl-C to stop and clean up")
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	fmt.Fprintln(out, "stopping")
	return nil
}

// freeAddr is 127.0.0.1:port when that port is free, else a free one.
func freeAddr(port int) string {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		return addr
	}
	return "127.0.0.1:0"
}

// waitMesh waits until every node sees the others online.
func waitMesh(ctx context.Context, nodes []*Node) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok := true
		for _, n := range nodes {
			s, err := n.Status(ctx)
			if err != nil {
				return err
			}
			if s.Counts.Online < len(nodes)-1 {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the demo nodes did not find each other within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sampleSecret has alpha write a secret for bravo and share it with
// charlie.
func sampleSecret(ctx context.Context, nodes []*Node) error {
	value := make([]byte, 12)
	_, _ = rand.Read(value)
	v := fmt.Sprintf("demo-%x", value)
	_, err := nodes[0].cmds.SetSecret(ctx, api.SetSecret{Name: "demo-password", Targets: []string{"bravo"}, Value: []byte(v)})
	if err != nil {
		return fmt.Errorf("sample secret: %w", err)
	}
	if _, err := nodes[0].cmds.ShareSecret(ctx, "demo-password", []string{"charlie"}); err != nil {
		return fmt.Errorf("share the sample secret: %w", err)
	}
	return nil
}
