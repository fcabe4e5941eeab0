package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultStopTimeout bounds a whole graceful stop: loops ending plus every
// PostStop.
const DefaultStopTimeout = 5 * time.Second

// Supervisor starts actors and tasks linked: when any of them returns an
// error or panics, all the others are stopped and Run returns that error.
// Spawn everything first, then call Run once.
type Supervisor struct {
	// StopTimeout bounds the whole stop (default DefaultStopTimeout).
	StopTimeout time.Duration

	log      *slog.Logger
	reg      *Registry
	children []child
	started  bool
}

// child is one supervised actor or task, erased of its message type.
type child interface {
	name() string
	preStart(ctx context.Context) error
	// goroutines returns the loops to run: the mailbox loop and, for a
	// Runner, its Run.
	goroutines() []func(ctx context.Context) error
	postStop(ctx context.Context) error
	markStopped()
}

// NewSupervisor returns a supervisor logging to log, with its own registry.
func NewSupervisor(log *slog.Logger) *Supervisor {
	return &Supervisor{StopTimeout: DefaultStopTimeout, log: log, reg: NewRegistry()}
}

// Registry returns the registry actors are spawned into.
func (s *Supervisor) Registry() *Registry { return s.reg }

// Spawn registers a under name with a mailbox of size messages. The actor
// starts when Run is called; messages cast before then wait in the mailbox.
func Spawn[M any](s *Supervisor, name string, a Actor[M], size int) (Ref[M], error) {
	if s.started {
		return Ref[M]{}, fmt.Errorf("spawn %q: supervisor already running", name)
	}
	ref := Ref[M]{mb: newMailbox[M](name, size)}
	if err := Register(s.reg, ref); err != nil {
		return Ref[M]{}, fmt.Errorf("spawn: %w", err)
	}
	if b, ok := a.(Binder[M]); ok {
		b.Bind(ref)
	}
	s.children = append(s.children, &actorChild[M]{ref: ref, a: a, reg: s.reg})
	return ref, nil
}

// Go adds a linked task: fn runs from Run until ctx ends. An error or panic
// stops the supervisor; returning nil early just ends the task.
func (s *Supervisor) Go(name string, fn func(ctx context.Context) error) {
	s.children = append(s.children, &taskChild{n: name, fn: fn})
}

// Run starts every actor (PreStart in spawn order, then their loops) and
// blocks until ctx ends or a child fails. It then stops every loop, calls
// PostStop in reverse spawn order and returns: nil after a stop asked for
// through ctx, the first failure otherwise, joined with ErrStopTimeout when
// the stop overran StopTimeout.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.started {
		return errors.New("supervisor: Run called twice")
	}
	s.started = true
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var first error
	var firstOnce sync.Once
	fail := func(err error) {
		firstOnce.Do(func() { first = err })
		cancel(err)
	}

	// Start-up: PreStart in order; on failure, stop the ones started.
	for i, c := range s.children {
		if err := s.guard(c.name(), func() error { return c.preStart(runCtx) }); err != nil {
			err = fmt.Errorf("start %s: %w", c.name(), err)
			s.log.Error("start failed", "actor", c.name(), "err", err)
			cancel(err)
			s.stop(s.children[:i], nil)
			s.markAll(s.children[i:])
			return err
		}
	}

	var wg sync.WaitGroup
	for _, c := range s.children {
		fns := c.goroutines()
		var cwg sync.WaitGroup
		for _, fn := range fns {
			wg.Add(1)
			cwg.Add(1)
			go func() {
				defer wg.Done()
				defer cwg.Done()
				err := s.guard(c.name(), func() error { return fn(runCtx) })
				if err != nil && runCtx.Err() == nil {
					s.log.Error("actor failed, stopping all", "actor", c.name(), "err", err)
					fail(fmt.Errorf("%s: %w", c.name(), err))
				}
			}()
		}
		go func() { cwg.Wait(); c.markStopped() }()
	}
	s.log.Debug("supervisor running", "children", len(s.children))

	<-runCtx.Done()
	err := s.stop(s.children, &wg)
	if first != nil {
		return errors.Join(first, err)
	}
	return err
}

// stop waits for the loops (when wg is set) and then runs PostStop in
// reverse order, all within StopTimeout.
func (s *Supervisor) stop(children []child, wg *sync.WaitGroup) error {
	timeout := s.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if wg != nil {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-stopCtx.Done():
			errs = append(errs, fmt.Errorf("waiting for loops: %w", ErrStopTimeout))
		}
	}
	for i := len(children) - 1; i >= 0; i-- {
		c := children[i]
		if err := s.guard(c.name(), func() error { return c.postStop(stopCtx) }); err != nil {
			s.log.Warn("stop failed", "actor", c.name(), "err", err)
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name(), err))
		}
		c.markStopped()
	}
	if stopCtx.Err() != nil && len(errs) == 0 {
		errs = append(errs, ErrStopTimeout)
	}
	return errors.Join(errs...)
}

func (s *Supervisor) markAll(children []child) {
	for _, c := range children {
		c.markStopped()
	}
}

// guard runs fn, turning a panic into a *PanicError logged with its stack.
func (s *Supervisor) guard(name string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			stack := debug.Stack()
			s.log.Error("panic", "actor", name, "panic", fmt.Sprint(v), "stack", string(stack))
			err = &PanicError{Name: name, Value: v, Stack: stack}
		}
	}()
	return fn()
}

// Names lists the supervised children in spawn order (for diagnostics).
func (s *Supervisor) Names() []string {
	names := make([]string, len(s.children))
	for i, c := range s.children {
		names[i] = c.name()
	}
	return names
}

type actorChild[M any] struct {
	ref Ref[M]
	a   Actor[M]
	reg *Registry
}

func (c *actorChild[M]) name() string                       { return c.ref.Name() }
func (c *actorChild[M]) preStart(ctx context.Context) error { return c.a.PreStart(ctx) }
func (c *actorChild[M]) postStop(ctx context.Context) error { return c.a.PostStop(ctx) }

func (c *actorChild[M]) markStopped() {
	c.reg.remove(c.ref.Name())
	c.ref.mb.markStopped()
}

func (c *actorChild[M]) goroutines() []func(ctx context.Context) error {
	fns := []func(ctx context.Context) error{c.loop}
	if r, ok := c.a.(Runner); ok {
		fns = append(fns, r.Run)
	}
	return fns
}

func (c *actorChild[M]) loop(ctx context.Context) error {
	mb := c.ref.mb
	poked, _ := c.a.(Poked)
	pokes := mb.poke
	if poked == nil {
		pokes = nil // never selected
	}
	for {
		// Once a stop is asked for, queued messages are not handled.
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case m := <-mb.ch:
			if err := c.a.Handle(ctx, m); err != nil {
				return err
			}
		case <-pokes:
			if err := poked.HandlePoke(ctx); err != nil {
				return err
			}
		}
	}
}

type taskChild struct {
	n  string
	fn func(ctx context.Context) error
}

func (t *taskChild) name() string                   { return t.n }
func (t *taskChild) preStart(context.Context) error { return nil }
func (t *taskChild) postStop(context.Context) error { return nil }
func (t *taskChild) markStopped()                   {}
func (t *taskChild) goroutines() []func(ctx context.Context) error {
	return []func(context.Context) error{t.fn}
}
