package actor

import (
	"context"
	"sync"
)

// mailbox is the bounded queue of one actor plus its coalescing poke slot.
type mailbox[M any] struct {
	name    string
	ch      chan M
	poke    chan struct{} // one slot: pokes coalesce
	stopped chan struct{} // closed when the actor's loop has ended
	once    sync.Once
}

func newMailbox[M any](name string, size int) *mailbox[M] {
	if size < 1 {
		size = 1
	}
	return &mailbox[M]{
		name:    name,
		ch:      make(chan M, size),
		poke:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
}

func (mb *mailbox[M]) markStopped() { mb.once.Do(func() { close(mb.stopped) }) }

// Ref is the address of an actor that handles messages of type M. The zero
// Ref is not usable; Refs come from Spawn or Lookup. Refs are cheap to copy
// and safe for concurrent use.
type Ref[M any] struct {
	mb *mailbox[M]
}

// Name returns the name the actor was spawned under.
func (r Ref[M]) Name() string { return r.mb.name }

// Stopped returns a channel that is closed once the actor has stopped.
func (r Ref[M]) Stopped() <-chan struct{} { return r.mb.stopped }

// Cast enqueues m without waiting for it to be handled. It returns
// ErrMailboxFull when the mailbox has no room and ErrStopped when the actor
// has stopped; in both cases m was not delivered. A message still queued
// when the actor stops is discarded.
func (r Ref[M]) Cast(m M) error {
	select {
	case <-r.mb.stopped:
		return sendError(r.mb.name, ErrStopped)
	default:
	}
	select {
	case r.mb.ch <- m:
		return nil
	default:
		return sendError(r.mb.name, ErrMailboxFull)
	}
}

// Poke tells an actor implementing Poked that something changed. Pokes
// coalesce: any number of pokes before the actor gets to them is handled
// once. Poke never blocks and never fails; a poke to a stopped actor is
// ignored.
func (r Ref[M]) Poke() {
	select {
	case r.mb.poke <- struct{}{}:
	default:
	}
}

// Call sends a request built by mk, which receives the one-slot reply
// channel to put into the message, and waits for the reply. It fails with
// ErrMailboxFull or ErrStopped as Cast does, with ErrStopped when the actor
// stops before replying, and with ctx's error when ctx ends first.
//
// The handler replies with a plain send (`msg.Reply <- v`); the slot is
// buffered so the handler never blocks, even when the caller has given up.
func Call[M, R any](ctx context.Context, r Ref[M], mk func(reply chan<- R) M) (R, error) {
	var zero R
	reply := make(chan R, 1)
	if err := r.Cast(mk(reply)); err != nil {
		return zero, err
	}
	select {
	case v := <-reply:
		return v, nil
	case <-r.mb.stopped:
		// The actor may have replied just before it stopped.
		select {
		case v := <-reply:
			return v, nil
		default:
			return zero, sendError(r.mb.name, ErrStopped)
		}
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
}

// Call2 is Call for requests whose reply is just an error: it returns the
// send or wait error, or else the reply.
func Call2[M any](ctx context.Context, r Ref[M], mk func(reply chan<- error) M) error {
	err, callErr := Call(ctx, r, mk)
	if callErr != nil {
		return callErr
	}
	return err
}
