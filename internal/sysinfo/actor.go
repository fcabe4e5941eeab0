package sysinfo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/record"
)

// Defaults.
const (
	DefaultInterval   = time.Minute
	DefaultShapeCheck = 5 * time.Second
	// refreshEvery republishes even when nothing material changed, so
	// uptime and usage do not go stale.
	refreshEvery = 10 * time.Minute
)

// Publisher stores and publishes a sysinfo record body; node wires it to
// the gossip actor.
type Publisher interface {
	PublishSysinfo(ctx context.Context, body []byte) error
}

// Config configures the actor.
type Config struct {
	Publisher Publisher
	Log       *slog.Logger
	Now       func() time.Time
	// Interval between full collections (default a minute).
	Interval time.Duration
	// ShapeCheck is how often interfaces and mounts are checked for a
	// change that triggers a collection at once (default 5s).
	ShapeCheck time.Duration
	// Collect takes a snapshot (default Collect, with gopsutil).
	Collect func(ctx context.Context, now time.Time) record.Sysinfo
}

// Msg is the actor's message type.
type Msg interface{ sysinfoMsg() }

// Refresh collects and publishes now if anything material changed.
type Refresh struct{}

type check struct{}

func (Refresh) sysinfoMsg() {}
func (check) sysinfoMsg()   {}

// Sysinfo is the sysinfo actor.
type Sysinfo struct {
	cfg Config
	ref actor.Ref[Msg]

	last          *record.Sysinfo // the last snapshot published
	lastShape     string
	lastPublished time.Time
	nextCollect   time.Time
}

var (
	_ actor.Actor[Msg]  = (*Sysinfo)(nil)
	_ actor.Runner      = (*Sysinfo)(nil)
	_ actor.Binder[Msg] = (*Sysinfo)(nil)
)

// New returns the actor; it starts nothing.
func New(cfg Config) *Sysinfo {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.ShapeCheck == 0 {
		cfg.ShapeCheck = DefaultShapeCheck
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Collect == nil {
		cfg.Collect = Collect
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Sysinfo{cfg: cfg}
}

// Bind implements actor.Binder.
func (s *Sysinfo) Bind(ref actor.Ref[Msg]) { s.ref = ref }

// PreStart checks the configuration.
func (s *Sysinfo) PreStart(ctx context.Context) error {
	if s.cfg.Publisher == nil {
		return fmt.Errorf("sysinfo: no publisher")
	}
	return nil
}

// Run paces collections: a quick shape check every ShapeCheck, a full
// collection every Interval. The first collection happens at once.
func (s *Sysinfo) Run(ctx context.Context) error {
	_ = s.ref.Cast(Refresh{})
	t := time.NewTicker(s.cfg.ShapeCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = s.ref.Cast(check{})
		}
	}
}

// Handle handles one message.
func (s *Sysinfo) Handle(ctx context.Context, m Msg) error {
	now := s.cfg.Now()
	switch m.(type) {
	case Refresh:
		s.collect(ctx, now, false)
	case check:
		if !now.Before(s.nextCollect) {
			s.collect(ctx, now, false)
			return nil
		}
		snap := s.cfg.Collect(ctx, now)
		if shape(snap) != s.lastShape {
			s.cfg.Log.Debug("interfaces or mounts changed")
			s.publish(ctx, now, snap, true)
		}
	}
	return nil
}

func (s *Sysinfo) collect(ctx context.Context, now time.Time, force bool) {
	s.nextCollect = now.Add(s.cfg.Interval)
	s.publish(ctx, now, s.cfg.Collect(ctx, now), force)
}

// publish hands snap on when it differs materially from the last one
// published, or the last one is old.
func (s *Sysinfo) publish(ctx context.Context, now time.Time, snap record.Sysinfo, force bool) {
	s.lastShape = shape(snap)
	if !force && s.last != nil && !differs(*s.last, snap) && now.Sub(s.lastPublished) < refreshEvery {
		return
	}
	if err := s.cfg.Publisher.PublishSysinfo(ctx, snap.Encode()); err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Warn("publish sysinfo failed; will retry", "err", err)
		}
		return
	}
	kept := snap // the collector may reuse its slices
	kept.Disks, kept.Interfaces = slices.Clone(snap.Disks), slices.Clone(snap.Interfaces)
	s.last, s.lastPublished = &kept, now
}

// PostStop has nothing to release.
func (s *Sysinfo) PostStop(ctx context.Context) error { return nil }
