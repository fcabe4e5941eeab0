package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/node"
)

// Procs is a cluster of credmesh processes (the real binary, `credmesh
// run`) on loopback, each with its own data and credential directory and
// its own port, trusting each other the way Start's in-process nodes do.
type Procs struct {
	Nodes []*Proc
	o     ProcOptions
	dir   string
}

// Proc is one node process.
type Proc struct {
	Index  int
	ID     string
	Dir    string // data dir
	Creds  string // credential dir
	Client *api.Client
	port   int
	cmd    *exec.Cmd
	done   chan struct{}
	logs   []string // log file of each start, the last is current
}

// ProcOptions shape a process cluster.
type ProcOptions struct {
	Bin string // the credmesh binary
	N   int
	// Dir holds the nodes' directories (default the system temp dir).
	Dir string
	// LogLevel of every node (default info; the catch-up measurement
	// reads the debug line each anti-entropy pull logs).
	LogLevel string
	// Heartbeat and SyncInterval, when set, replace the defaults.
	Heartbeat, SyncInterval time.Duration
	// CredsKey, when set, is every node's --creds-key.
	CredsKey string
}

// CheckCredsKey reports whether key is a --creds-key the daemon accepts.
func CheckCredsKey(key string) error {
	return (node.Config{CredsKey: key}).WithDefaults().Validate()
}

// StartProcs starts N processes: node 0 first, every other node with node
// 0's ticket, then node 0 adds every other node's ticket (admitting it to
// all). It returns once every node answers on its control socket.
func StartProcs(ctx context.Context, o ProcOptions) (*Procs, error) {
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if _, err := os.Stat(o.Bin); err != nil {
		return nil, fmt.Errorf("credmesh binary: %w", err)
	}
	dir, err := os.MkdirTemp(o.Dir, "credmesh-procs")
	if err != nil {
		return nil, err
	}
	c := &Procs{o: o, dir: dir}
	for i := range o.N {
		port, err := freePort()
		if err != nil {
			c.Stop()
			return nil, err
		}
		d := filepath.Join(dir, fmt.Sprintf("n%d", i))
		c.Nodes = append(c.Nodes, &Proc{Index: i, Dir: d, Creds: filepath.Join(d, "creds"), port: port,
			Client: api.NewClient(filepath.Join(d, "control.sock"))})
	}
	if err := c.Start(ctx, 0); err != nil {
		c.Stop()
		return nil, err
	}
	first, err := c.Nodes[0].Client.Ticket(ctx)
	if err != nil {
		c.Stop()
		return nil, err
	}
	for i := 1; i < o.N; i++ {
		if err := c.Start(ctx, i, first.Ticket); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, p := range c.Nodes[1:] {
		t, err := p.Client.Ticket(ctx)
		if err != nil {
			c.Stop()
			return nil, err
		}
		if _, err := c.Nodes[0].Client.AddPeer(ctx, t.Ticket, "admin"); err != nil { // every node an admin: any writes for any
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Start (re)starts node i with tickets and waits until it answers.
func (c *Procs) Start(ctx context.Context, i int, tickets ...string) error {
	p := c.Nodes[i]
	logFile := filepath.Join(c.dir, fmt.Sprintf("n%d.%d.log", i, len(p.logs)))
	f, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer f.Close()
	args := []string{"--data-dir", p.Dir, "--log-level", c.o.LogLevel, "--log-format", "json", "run",
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p.port), "--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", p.port),
		"--no-mdns", "--hostname", fmt.Sprintf("n%d", i), "--web", "127.0.0.1:0", "--creds-dir", p.Creds}
	if c.o.Heartbeat > 0 {
		args = append(args, "--heartbeat", c.o.Heartbeat.String())
	}
	if c.o.SyncInterval > 0 {
		args = append(args, "--sync-interval", c.o.SyncInterval.String())
	}
	if c.o.CredsKey != "" {
		args = append(args, "--creds-key", c.o.CredsKey)
	}
	p.cmd = exec.Command(c.o.Bin, append(args, tickets...)...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.logs = append(p.logs, logFile)
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := p.Client.Status(ctx)
		if err == nil {
			p.ID = st.NodeID
			return nil
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(logFile)
			return fmt.Errorf("node %d exited at start: %s", i, tail(string(b), 2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d did not answer within a minute: %v", i, err)
		}
	}
}

// StopNode stops node i with SIGTERM and waits for it.
func (c *Procs) StopNode(i int) error {
	p := c.Nodes[i]
	if p.cmd == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("node %d took over 30s to stop", i)
	}
}

// Pid is node i's process ID.
func (c *Procs) Pid(i int) int { return c.Nodes[i].cmd.Process.Pid }

// Log is the current log file of node i.
func (c *Procs) Log(i int) string { p := c.Nodes[i]; return p.logs[len(p.logs)-1] }

// WaitConverged waits until every node sees every other online, as a
// member with an age recipient.
func (c *Procs) WaitConverged(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range c.Nodes {
		for {
			ok, why := c.sees(ctx, p)
			if ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cluster not converged after %v: node %d %s", timeout, p.Index, why)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (c *Procs) sees(ctx context.Context, p *Proc) (bool, string) {
	ps, err := p.Client.Peers(ctx)
	if err != nil {
		return false, err.Error()
	}
	by := map[string]api.Peer{}
	for _, q := range ps.Peers {
		by[q.NodeID] = q
	}
	for _, q := range c.Nodes {
		if q == p {
			continue
		}
		r, ok := by[q.ID]
		if !ok || r.State != "member" || !r.Online || r.AgeRecipient == "" {
			return false, fmt.Sprintf("does not see node %d online with its recipient", q.Index)
		}
	}
	return true, ""
}

// Stop stops every node and removes the directories.
func (c *Procs) Stop() error {
	var errs []error
	for _, p := range c.Nodes {
		if p.cmd != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM) // all at once; exited ones refuse
		}
	}
	for i := range c.Nodes {
		if err := c.StopNode(i); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}

// freePort finds a loopback port free for both TCP and UDP.
func freePort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both TCP and UDP")
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
