package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
)

// ErrNotRunning is returned when nothing answers on the control socket.
var ErrNotRunning = errors.New("daemon not running")

// maxResponse caps how much of a response the client reads.
const maxResponse = 8 << 20

// StatusError is a non-2xx answer from the daemon.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Client talks to a running daemon over its control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the control socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression: true,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// Status asks the daemon for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/status", nil, &s)
}

// Ticket asks the daemon for its current ticket.
func (c *Client) Ticket(ctx context.Context) (Ticket, error) {
	var t Ticket
	return t, c.do(ctx, http.MethodGet, "/ticket", nil, &t)
}

// Audit lists audit events, newest first.
func (c *Client) Audit(ctx context.Context, limit int, before int64) (Events, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var es Events
	return es, c.do(ctx, http.MethodGet, "/audit?"+q.Encode(), nil, &es)
}

// Peers lists the nodes the daemon knows.
func (c *Client) Peers(ctx context.Context) (Peers, error) {
	var p Peers
	return p, c.do(ctx, http.MethodGet, "/peers", nil, &p)
}

// Peer shows one node: a full node ID, a unique prefix or a unique
// hostname.
func (c *Client) Peer(ctx context.Context, node string) (PeerDetail, error) {
	var p PeerDetail
	return p, c.do(ctx, http.MethodGet, "/peers/"+url.PathEscape(node), nil, &p)
}

// AddPeer trusts the node a ticket names with role ("" for a plain node).
func (c *Client) AddPeer(ctx context.Context, ticket, role string) (AddPeerResult, error) {
	var r AddPeerResult
	return r, c.do(ctx, http.MethodPost, "/peers", jsonBody(AddPeer{Ticket: ticket, Role: role}), &r)
}

// SetSecret writes a new version of a secret for its targets.
func (c *Client) SetSecret(ctx context.Context, req SetSecret) (SecretWrites, error) {
	var r SecretWrites
	return r, c.do(ctx, http.MethodPost, "/secrets", jsonBody(req), &r)
}

// Secrets lists current secrets, for one target when node is set.
func (c *Client) Secrets(ctx context.Context, node string) (Secrets, error) {
	var r Secrets
	return r, c.do(ctx, http.MethodGet, "/secrets?"+url.Values{"node": {node}}.Encode(), nil, &r)
}

// History lists every version of a secret, for one target when node is set.
func (c *Client) History(ctx context.Context, name, node string) (SecretHistory, error) {
	var r SecretHistory
	return r, c.do(ctx, http.MethodGet, "/secrets/"+url.PathEscape(name)+"?"+url.Values{"node": {node}}.Encode(), nil, &r)
}

// Reveal returns the daemon's own copy of a secret.
func (c *Client) Reveal(ctx context.Context, name string) (Revealed, error) {
	var r Revealed
	return r, c.do(ctx, http.MethodPost, "/secrets/"+url.PathEscape(name)+"/reveal", nil, &r)
}

// Ciphertext returns the stored age ciphertext of a secret's current
// version for node (default the daemon's own).
func (c *Client) Ciphertext(ctx context.Context, name, node string) ([]byte, error) {
	var raw rawBody
	err := c.do(ctx, http.MethodGet, "/secrets/"+url.PathEscape(name)+"/ciphertext?"+url.Values{"node": {node}}.Encode(), nil, &raw)
	return raw, err
}

// rawBody receives a response body as is.
type rawBody []byte

// Share copies a secret to more targets.
func (c *Client) Share(ctx context.Context, name string, to []string) (SecretWrites, error) {
	var r SecretWrites
	return r, c.do(ctx, http.MethodPost, "/secrets/"+url.PathEscape(name)+"/share", jsonBody(ShareSecret{To: to}), &r)
}

// DeleteSecret tombstones a secret for targets (all it may, when none).
func (c *Client) DeleteSecret(ctx context.Context, name string, targets []string) (SecretWrites, error) {
	var r SecretWrites
	return r, c.do(ctx, http.MethodDelete, "/secrets/"+url.PathEscape(name)+"?"+url.Values{"target": targets}.Encode(), nil, &r)
}

// Sync asks the daemon to rewrite its credentials, or node's.
func (c *Client) Sync(ctx context.Context, node string) (SyncResult, error) {
	var r SyncResult
	return r, c.do(ctx, http.MethodPost, "/sync", jsonBody(Sync{Node: node}), &r)
}

// Invite asks for a one-time invite ticket giving role ("" for a plain
// node).
func (c *Client) Invite(ctx context.Context, ttl, role string) (InviteResult, error) {
	var r InviteResult
	return r, c.do(ctx, http.MethodPost, "/invites", jsonBody(Invite{TTL: ttl, Role: role}), &r)
}

// PeerAction approves, ignores, revokes, promotes or demotes a node.
func (c *Client) PeerAction(ctx context.Context, node, action string, req PeerAction) (PeerActionResult, error) {
	var r PeerActionResult
	return r, c.do(ctx, http.MethodPost, "/peers/"+url.PathEscape(node)+"/"+action, jsonBody(req), &r)
}

// LoginURL asks for a one-time login URL for the web UI.
func (c *Client) LoginURL(ctx context.Context) (LoginURL, error) {
	var r LoginURL
	return r, c.do(ctx, http.MethodPost, "/ui/login", nil, &r)
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://credmesh"+Prefix+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (no socket at %s)", ErrNotRunning, c.socket)
		}
		return fmt.Errorf("control socket %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponse {
		return fmt.Errorf("response larger than %d bytes", maxResponse)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("daemon answered %s", resp.Status)
		}
		return &StatusError{Code: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*rawBody); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
