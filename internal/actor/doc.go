// Package actor is credmesh's actor kit: typed bounded mailboxes, one
// lifecycle contract, a fail-fast supervisor and a typed registry.
//
// An actor is a value that owns its state and handles one message at a time:
//
//	PreStart(ctx) opens resources; an error fails start-up.
//	Handle(ctx, msg) handles one message from the bounded mailbox.
//	PostStop(ctx) releases resources under a deadline.
//
// Actors that own a background loop (a network reader, a ticker) also
// implement [Runner]; Run goes on beside Handle and talks to the actor's
// state only through the actor's own [Ref].
//
// [Ref.Cast] sends without waiting and [Call] sends a request carrying a
// one-slot reply channel and waits under a context. A full mailbox or a
// stopped actor is an error the caller sees ([ErrMailboxFull], [ErrStopped]).
// [Ref.Poke] is a coalescing "something changed" signal for actors that
// implement [Poked].
//
// The [Supervisor] starts every actor linked: when one returns an error or
// panics, every other one is stopped and [Supervisor.Run] returns that
// error. Stopping finishes within [Supervisor.StopTimeout].
//
// This package imports only the standard library. Every layer above store
// may import it.
package actor
