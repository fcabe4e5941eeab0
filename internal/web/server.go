package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
)

// TokenFile is the web token's file in the data dir.
const TokenFile = "web.token"

// WebMsg is the WebServer's message type (none yet).
type WebMsg interface{ webMsg() }

// WebServer is the WebServerActor: the HTML UI, the JSON API and
// /metrics on a TCP listener (default 127.0.0.1:7100).
type WebServer struct {
	Addr    string
	Handler http.Handler // the guarded mux
	Log     *slog.Logger

	ln  net.Listener
	srv *http.Server
}

var (
	_ actor.Actor[WebMsg] = (*WebServer)(nil)
	_ actor.Runner        = (*WebServer)(nil)
)

// PreStart listens.
func (s *WebServer) PreStart(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("web UI address %s is already in use (another credmesh daemon?); choose another with --web, or --no-web", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("web listener: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug),
	}
	s.Log.Info("web UI listening", "url", "http://"+ln.Addr().String())
	return nil
}

// URL returns the base URL the server listens on.
func (s *WebServer) URL() string { return "http://" + s.ln.Addr().String() }

// Run serves until ctx ends.
func (s *WebServer) Run(ctx context.Context) error { return serve(ctx, s.srv, s.ln) }

// Handle has no messages yet.
func (s *WebServer) Handle(context.Context, WebMsg) error { return nil }

// PostStop closes what is left.
func (s *WebServer) PostStop(context.Context) error {
	if s.srv != nil {
		_ = s.srv.Close()
	}
	return nil
}

// LoadOrCreateToken returns the web token in dataDir, creating it (0600)
// the first time.
func LoadOrCreateToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, TokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		fi, serr := os.Stat(path)
		if serr == nil && fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("web token %s is readable by group or others; fix with: chmod 600 %s", path, path)
		}
		if t := strings.TrimSpace(string(b)); len(t) >= 32 {
			return t, nil
		}
		return "", fmt.Errorf("web token %s is too short; remove it to make a new one", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(token + "\n"); err != nil {
		return "", err
	}
	return token, f.Sync()
}
