package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
)

// SocketFile is the control socket's name in the data dir.
const SocketFile = "control.sock"

// ControlMsg is the ControlServer's message type. It takes no messages
// yet; the interface is sealed so that only this package adds some.
type ControlMsg interface{ controlMsg() }

// ControlServer is the actor serving the API on the unix control socket
// (mode 0600, removed on stop; a stale one left by a crash is replaced).
type ControlServer struct {
	Path    string
	Handler http.Handler
	Log     *slog.Logger

	ln  net.Listener
	srv *http.Server
}

var _ actor.Actor[ControlMsg] = (*ControlServer)(nil)
var _ actor.Runner = (*ControlServer)(nil)

// PreStart takes over the socket path and listens.
func (c *ControlServer) PreStart(ctx context.Context) error {
	if err := removeStaleSocket(ctx, c.Path); err != nil {
		return err
	}
	ln, err := net.Listen("unix", c.Path)
	if err != nil {
		return fmt.Errorf("listen on control socket: %w", err)
	}
	if err := os.Chmod(c.Path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	c.ln = ln
	c.srv = &http.Server{
		Handler:           c.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.Log.Handler(), slog.LevelDebug),
	}
	c.Log.Debug("control socket listening", "path", c.Path)
	return nil
}

// Run serves until ctx ends, then shuts the server down, which removes
// the socket file.
func (c *ControlServer) Run(ctx context.Context) error {
	return serve(ctx, c.srv, c.ln)
}

// Handle has no messages to handle yet.
func (c *ControlServer) Handle(ctx context.Context, msg ControlMsg) error { return nil }

// PostStop makes sure the listener is closed (Run normally did it).
func (c *ControlServer) PostStop(ctx context.Context) error {
	if c.srv != nil {
		_ = c.srv.Close()
	}
	return nil
}

// serve runs srv on ln until ctx ends, then shuts it down gracefully for
// at most two seconds and closes what is left.
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// removeStaleSocket removes a socket file that nothing answers on. A live
// socket means another daemon serves this data dir; a path that is not a
// socket is left alone.
func removeStaleSocket(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket path %s exists and is not a socket; move it away", path)
	}
	d := net.Dialer{Timeout: time.Second}
	if conn, err := d.DialContext(ctx, "unix", path); err == nil {
		conn.Close()
		return fmt.Errorf("another credmesh daemon is answering on %s", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale control socket: %w", err)
	}
	return nil
}
