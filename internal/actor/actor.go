package actor

import "context"

// Actor is the lifecycle contract every actor implements. Constructors only
// assign fields; resources are opened in PreStart and released in PostStop.
// Handle is called from one goroutine, one message at a time, so the actor
// owns its state without locks.
type Actor[M any] interface {
	// PreStart opens resources. An error fails the supervisor's start-up.
	PreStart(ctx context.Context) error
	// Handle handles one message. An error stops the whole supervisor.
	Handle(ctx context.Context, msg M) error
	// PostStop releases resources; ctx carries the stop deadline.
	PostStop(ctx context.Context) error
}

// Runner is implemented by actors that own a background loop. Run is
// started after PreStart, runs beside Handle on its own goroutine and must
// return when ctx ends. It reaches the actor's state only by sending to the
// actor's own Ref. An error or panic stops the supervisor like one from
// Handle; returning nil early just ends the loop.
type Runner interface {
	Run(ctx context.Context) error
}

// Poked is implemented by actors that take coalescing "something changed"
// signals through Ref.Poke. HandlePoke runs on the actor's goroutine,
// between messages.
type Poked interface {
	HandlePoke(ctx context.Context) error
}

// Binder is implemented by actors that need their own Ref (to send to
// themselves from a Runner loop or a callback). Spawn calls Bind once,
// before the actor starts.
type Binder[M any] interface {
	Bind(self Ref[M])
}
