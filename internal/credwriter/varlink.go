package credwriter

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// VarlinkSocket is systemd's credential service (systemd 256 and later):
// io.systemd.Credentials.Encrypt on one connection for many calls, where
// `systemd-creds encrypt` is a process per credential.
const VarlinkSocket = "/run/systemd/io.systemd.Credentials"

// varlinkIdle is how long an unused connection stays open: systemd
// serves each connection with a process of its own (the socket has
// Accept=yes), which should not outlive a burst of writes by much.
const varlinkIdle = 10 * time.Second

// maxVarlinkReply caps one reply: the credential in Base64 (as
// systemd-creds would print it, at most maxCredential) and some JSON.
const maxVarlinkReply = maxCredential + 64<<10

// Varlink encrypts with systemd's default key through its varlink
// service: the same key choice and format as `systemd-creds encrypt`
// (TPM2 and host key where a TPM2 is present), without a process per
// credential. Safe for concurrent use: calls take turns on the one
// connection.
type Varlink struct {
	Path string // default VarlinkSocket

	mu   sync.Mutex
	conn net.Conn
	rd   *bufio.Reader
	idle *time.Timer
}

var _ Runner = (*Varlink)(nil)

// varlinkError is an error reply of the service.
type varlinkError struct {
	Name   string // e.g. io.systemd.Credentials.BadFormat
	Params string // its parameters, as sent (shortened)
}

func (e *varlinkError) Error() string {
	if e.Params == "" || e.Params == "{}" {
		return "varlink " + e.Name
	}
	return "varlink " + e.Name + " " + e.Params
}

// Encrypt calls io.systemd.Credentials.Encrypt with the name and the
// plaintext (Base64 in the request, never on a command line) and returns
// the credential, Base64 as systemd-creds prints it.
func (v *Varlink) Encrypt(ctx context.Context, name string, plaintext []byte) ([]byte, error) {
	req, err := encryptRequest(name, plaintext)
	if err != nil {
		return nil, err
	}
	defer clear(req) // it holds the plaintext, in Base64
	v.mu.Lock()
	defer v.mu.Unlock()
	reply, err := v.call(ctx, req)
	if err != nil {
		v.closeLocked()
		return nil, err
	}
	v.idleLocked()
	return decodeVarlinkReply(reply)
}

// encryptRequest is the NUL-terminated call of Encrypt, built in one
// buffer the caller clears: the plaintext is never in a string.
func encryptRequest(name string, plaintext []byte) ([]byte, error) {
	qname, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	const head, mid, tail = `{"method":"io.systemd.Credentials.Encrypt","parameters":{"name":`, `,"data":"`, "\"}}\x00"
	n := base64.StdEncoding.EncodedLen(len(plaintext))
	req := make([]byte, 0, len(head)+len(qname)+len(mid)+n+len(tail))
	req = append(append(append(req, head...), qname...), mid...)
	req = req[:len(req)+n]
	base64.StdEncoding.Encode(req[len(req)-n:], plaintext)
	return append(req, tail...), nil
}

// call sends one request and reads its reply, dialling first if no
// connection is open. Called with mu held.
func (v *Varlink) call(ctx context.Context, req []byte) ([]byte, error) {
	if v.conn == nil {
		path := v.Path
		if path == "" {
			path = VarlinkSocket
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return nil, err
		}
		v.conn, v.rd = c, bufio.NewReader(c)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = v.conn.SetDeadline(dl)
	} else {
		_ = v.conn.SetDeadline(time.Now().Add(time.Minute))
	}
	if _, err := v.conn.Write(req); err != nil {
		return nil, fmt.Errorf("varlink: %w", err)
	}
	return readVarlinkMessage(v.rd)
}

// readVarlinkMessage reads one NUL-terminated message of at most
// maxVarlinkReply bytes.
func readVarlinkMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	for {
		chunk, err := r.ReadSlice(0)
		if len(msg)+len(chunk) > maxVarlinkReply+1 {
			return nil, fmt.Errorf("varlink: reply longer than %d bytes", maxVarlinkReply)
		}
		msg = append(msg, chunk...)
		switch {
		case err == nil:
			return msg[:len(msg)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return nil, fmt.Errorf("varlink: %w", err)
		}
	}
}

// decodeVarlinkReply returns the credential of an Encrypt reply, or the
// service's error.
func decodeVarlinkReply(b []byte) ([]byte, error) {
	if len(b) > maxVarlinkReply {
		return nil, fmt.Errorf("varlink: reply longer than %d bytes", maxVarlinkReply)
	}
	var r struct {
		Error      string          `json:"error"`
		Parameters json.RawMessage `json:"parameters"`
		Continues  bool            `json:"continues"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("varlink: undecodable reply: %w", err)
	}
	if r.Error != "" {
		return nil, &varlinkError{Name: record.TruncateText(r.Error, 200), Params: record.TruncateText(string(r.Parameters), 300)}
	}
	if r.Continues {
		return nil, errors.New("varlink: a streaming reply to a single call")
	}
	var p struct {
		Blob string `json:"blob"`
	}
	if err := json.Unmarshal(r.Parameters, &p); err != nil || p.Blob == "" {
		return nil, errors.New("varlink: reply without a credential")
	}
	raw, err := base64.StdEncoding.DecodeString(p.Blob)
	if err != nil {
		return nil, fmt.Errorf("varlink: credential is not Base64: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("varlink: empty credential")
	}
	return []byte(p.Blob), nil
}

// idleLocked (re)arms the timer that closes an unused connection.
func (v *Varlink) idleLocked() {
	if v.idle == nil {
		v.idle = time.AfterFunc(varlinkIdle, func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.closeLocked()
		})
		return
	}
	v.idle.Reset(varlinkIdle)
}

func (v *Varlink) closeLocked() {
	if v.conn != nil {
		_ = v.conn.Close()
		v.conn, v.rd = nil, nil
	}
}

// varlinkOrSpawn is systemd's default key: through its varlink service
// where it runs (systemd 256 and later), else a spawned systemd-creds.
// Any varlink failure falls back to the spawn for that credential, which
// applies the same rules and says what is wrong in its own words; each
// change is logged once.
type varlinkOrSpawn struct {
	vl    *Varlink
	spawn Runner
	log   *slog.Logger

	mu     sync.Mutex
	logged string // the varlink failure last logged ("" while it works)
	used   bool   // varlink has encrypted at least once
}

var _ Runner = (*varlinkOrSpawn)(nil)

func (s *varlinkOrSpawn) Encrypt(ctx context.Context, name string, plaintext []byte) ([]byte, error) {
	out, err := s.vl.Encrypt(ctx, name, plaintext)
	s.note(err)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return s.spawn.Encrypt(ctx, name, plaintext)
	}
	return out, nil
}

func (s *varlinkOrSpawn) note(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil && (!s.used || s.logged != ""):
		s.used, s.logged = true, ""
		s.log.Info("credentials encrypted through systemd's varlink service", "socket", s.vl.socket())
	case err != nil && s.logged != err.Error():
		s.logged = err.Error()
		s.log.Info("systemd's varlink credential service not usable; spawning systemd-creds instead", "socket", s.vl.socket(), "err", err)
	}
}

func (v *Varlink) socket() string {
	if v.Path == "" {
		return VarlinkSocket
	}
	return v.Path
}
