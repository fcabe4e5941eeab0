package credwriter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Audit event types.
const (
	EventWritten       = "credential.written"
	EventRemoved       = "credential.removed"
	EventFailed        = "credential.failed"
	EventUnitRestarted = "unit.restarted"
	EventUnitFailed    = "unit.restart_failed"
	EventNoManager     = "unit.no_manager"
)

// result is what a job did.
type result struct {
	action  string // "written", "removed", "" (nothing to do)
	version uint64
	secret  record.ID
	units   []string // units named on the secret
	err     error
}

// sync brings name's credential file in line with the store. It runs on
// a worker goroutine; it reads the store and touches only name's file and
// cred_state row.
func (c *CredWriter) sync(ctx context.Context, name string, force bool) result {
	key := record.Key{Name: name, Target: c.self}
	res, err := c.cfg.Secrets.SecretState(ctx, key)
	if err != nil {
		return result{err: err}
	}
	written, haveWritten, err := c.cfg.Store.CredState(ctx, name)
	if err != nil {
		return result{err: err}
	}
	path, err := credPath(c.cfg.Dir, name)
	if err != nil {
		return result{err: err}
	}
	_, statErr := os.Stat(path)
	fileExists := statErr == nil

	if res.Current == nil || res.Current.Tombstone {
		// Deleted, or no longer addressed here: no file may remain, but only
		// files this node wrote are touched.
		if !haveWritten {
			return result{}
		}
		r := result{action: "removed"}
		if res.Current != nil {
			r.version, r.secret = res.Current.Version, res.Current.ID
		} else {
			r.version, r.secret = written.Version, written.Secret
		}
		if err := removeCredential(c.cfg.Dir, name); err != nil {
			r.err = err
			return r
		}
		r.err = c.cfg.Store.DeleteCredState(ctx, name)
		if body, err := c.bodyOf(ctx, written.Secret); err == nil {
			r.units = body.Restart
		}
		return r
	}
	cur := res.Current
	if !force && haveWritten && written.Secret == cur.ID && fileExists {
		return result{}
	}
	r := result{action: "written", version: cur.Version, secret: cur.ID}
	body, err := c.bodyOf(ctx, cur.ID)
	if err != nil {
		r.err = err
		return r
	}
	r.units = body.Restart
	plain, err := record.Decrypt(c.cfg.Identity.AgeIdentity(), body.Ciphertext)
	if err != nil {
		r.err = fmt.Errorf("decrypt version %d: %w: %w", cur.Version, errUndecryptable, err)
		return r
	}
	err = writeCredential(ctx, c.cfg.Runner, c.cfg.Dir, name, plain)
	clear(plain)
	if err != nil {
		r.err = err
		return r
	}
	r.err = c.cfg.Store.SetCredState(ctx, store.CredState{Name: name, Secret: cur.ID, Version: cur.Version, Written: c.cfg.Now()})
	return r
}

func (c *CredWriter) bodyOf(ctx context.Context, id record.ID) (record.Secret, error) {
	return c.cfg.Store.SecretBody(ctx, id)
}

// done handles a finished job: receipt, audit, restarts, retries.
func (c *CredWriter) done(ctx context.Context, name string, r result) {
	delete(c.inflight, name)
	if force, again := c.queued[name]; again {
		delete(c.queued, name)
		defer c.request(name, force)
	}
	switch {
	case r.err != nil:
		c.failed(ctx, name, r)
	case r.action != "":
		if c.cfg.OnWritten != nil {
			c.cfg.OnWritten(name, r.version, r.action == "removed")
		}
		delete(c.failing, name)
		c.setState()
		state := record.ReceiptWritten
		typ := EventWritten
		if r.action == "removed" {
			state, typ = record.ReceiptRemoved, EventRemoved
		}
		c.log.Debug("credential "+r.action, "secret", name, "version", r.version)
		c.audit(ctx, typ, name, fmt.Sprintf("credential %s %s (version %d)", name, r.action, r.version),
			map[string]any{"version": r.version, "record": r.secret.String(), "dir": c.cfg.Dir})
		c.receipt(ctx, name, r, state, "")
		c.scheduleRestarts(name, r.units)
	}
	// Receipts of a burst go out together once nothing is in flight.
	if len(c.inflight) == 0 || len(c.receipts) >= 64 {
		c.flushReceipts(ctx)
	}
	if len(c.inflight) == 0 && (len(c.restarts) > 0 || len(c.changed) > 0) {
		c.armRestarts()
	}
}

// errUndecryptable marks a version whose ciphertext this node's age key
// cannot open (garbage from a member, or sealed to another key).
var errUndecryptable = errors.New("undecryptable")

// failed records a failure: logged once per cause, audited, a failed
// receipt for the version, a retry with backoff (none for a version that
// cannot be decrypted).
func (c *CredWriter) failed(ctx context.Context, name string, r result) {
	if c.cfg.OnFailed != nil {
		c.cfg.OnFailed(name)
	}
	msg := r.err.Error()
	cause := msg // the same message for every secret is one cause
	switch {
	case errors.Is(r.err, ErrNoSystemdCreds):
		cause = ErrNoSystemdCreds.Error()
	case errors.Is(r.err, fs.ErrPermission):
		cause = fs.ErrPermission.Error()
	}
	// A version this node's key cannot open stays unopenable: it waits
	// for a new version instead of retrying.
	permanent := errors.Is(r.err, errUndecryptable)
	if permanent {
		cause = errUndecryptable.Error()
	}
	if !c.logged[cause] {
		c.logged[cause] = true
		if permanent {
			c.log.Error("a secret version cannot be decrypted with this node's key; waiting for a new version", "secret", name, "err", msg)
		} else {
			c.log.Error("writing credentials fails; retrying with backoff", "secret", name, "err", msg)
		}
	}
	f := c.failing[name]
	if f == nil {
		f = &failure{}
		c.failing[name] = f
	}
	if f.err != msg || f.version != r.version {
		f.err, f.version = msg, r.version
		c.setState()
		c.audit(ctx, EventFailed, name, fmt.Sprintf("credential %s version %d failed: %s", name, r.version, msg),
			map[string]any{"version": r.version, "error": msg})
		if r.version > 0 {
			c.receipt(ctx, name, r, record.ReceiptFailed, msg)
			c.flushReceipts(ctx)
		}
	}
	if permanent {
		return
	}
	f.backoff = min(max(f.backoff*2, minRetry), maxRetry)
	delay := f.backoff + time.Duration(rand.Int64N(int64(f.backoff/5)+1))
	time.AfterFunc(delay, func() { _ = c.ref.Cast(retryDue{name: name}) })
}

// receipt queues a receipt saying what this node did with a version.
func (c *CredWriter) receipt(ctx context.Context, name string, r result, state record.ReceiptState, errText string) {
	errText = record.TruncateText(errText, record.MaxReceiptError)
	c.receipts = append(c.receipts, record.Receipt{Name: name, Version: r.version, Secret: r.secret, State: state, Error: errText, At: c.cfg.Now()}.Encode())
}

// flushReceipts publishes the queued receipts in one transaction.
func (c *CredWriter) flushReceipts(ctx context.Context) {
	if len(c.receipts) == 0 {
		return
	}
	bodies := c.receipts
	c.receipts = nil
	if err := c.cfg.Publish.PublishReceipts(ctx, bodies); err != nil && ctx.Err() == nil {
		c.log.Warn("publishing receipts failed", "count", len(bodies), "err", err)
	}
}
