package credwriter

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// scheduleRestarts notes that name changed and the units named on its
// secret; the units that load it are asked for at the flush, once for
// all the credentials that changed.
func (c *CredWriter) scheduleRestarts(name string, named []string) {
	c.changed[name] = true
	for _, u := range named {
		if !contains(c.restarts[u], name) {
			c.restarts[u] = append(c.restarts[u], name)
		}
	}
	c.armRestarts()
}

// addLoadingUnits adds, unless disabled, the loaded units that load the
// changed credentials (one systemctl call). Without a reachable manager it
// says so once and stops asking for a minute.
func (c *CredWriter) addLoadingUnits(ctx context.Context) {
	names := make([]string, 0, len(c.changed))
	for n := range c.changed {
		names = append(names, n)
	}
	clear(c.changed)
	if c.cfg.NoAutoRestart || len(names) == 0 || c.cfg.Now().Before(c.managerRetry) {
		return
	}
	found, err := c.cfg.Units.UnitsLoading(ctx, names)
	switch {
	case errors.Is(err, ErrNoManager):
		c.noManager(ctx, err)
		return
	case err != nil:
		c.log.Warn("finding units that load credentials failed", "err", err)
		return
	}
	for name, units := range found {
		for _, u := range units {
			if !contains(c.restarts[u], name) {
				c.restarts[u] = append(c.restarts[u], name)
			}
		}
	}
}

// armRestarts (re)starts the debounce window: the flush happens
// Debounce after the last change, and only when no write is pending.
func (c *CredWriter) armRestarts() {
	c.gen++
	gen := c.gen
	time.AfterFunc(c.cfg.Debounce, func() { _ = c.ref.Cast(flushRestarts{gen: gen}) })
}

// restartUnits try-restarts each pending unit once, after every credential
// it uses was written.
func (c *CredWriter) restartUnits(ctx context.Context) {
	if len(c.inflight) > 0 || len(c.queued) > 0 {
		return // done() re-arms once the last write finished
	}
	c.addLoadingUnits(ctx)
	units := make([]string, 0, len(c.restarts))
	for u := range c.restarts {
		units = append(units, u)
	}
	sort.Strings(units)
	for _, u := range units {
		creds := c.restarts[u]
		delete(c.restarts, u)
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := c.cfg.Units.TryRestart(rctx, u)
		cancel()
		data := map[string]any{"unit": u, "credentials": creds}
		switch {
		case errors.Is(err, ErrNoManager):
			c.noManager(ctx, err)
			clear(c.restarts)
			return
		case err != nil:
			data["error"] = err.Error()
			c.log.Warn("restarting a unit failed", "unit", u, "err", err)
			c.audit(ctx, EventUnitFailed, "", fmt.Sprintf("try-restart %s failed: %v", u, err), data)
		default:
			c.log.Info("restarted unit after credential change", "unit", u, "credentials", strings.Join(creds, ","))
			c.audit(ctx, EventUnitRestarted, "", fmt.Sprintf("try-restarted %s (credentials %s)", u, strings.Join(creds, ", ")), data)
		}
	}
}

// noManager says once that units cannot be restarted here, and holds off
// asking the manager again for a minute.
func (c *CredWriter) noManager(ctx context.Context, err error) {
	c.managerRetry = c.cfg.Now().Add(time.Minute)
	if c.logged["no-manager"] {
		return
	}
	c.logged["no-manager"] = true
	c.log.Warn("no systemd manager reachable: credentials are written, units are not restarted", "err", err)
	c.audit(ctx, EventNoManager, "", "no systemd manager reachable; units are not restarted", map[string]any{"error": err.Error()})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
