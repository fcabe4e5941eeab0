package actor

import (
	"errors"
	"fmt"
)

var (
	// ErrMailboxFull is returned by Cast and Call when the actor's bounded
	// mailbox has no room; the message was not delivered.
	ErrMailboxFull = errors.New("mailbox full")
	// ErrStopped is returned when the actor has stopped (or stops before it
	// replies to a Call).
	ErrStopped = errors.New("actor stopped")
	// ErrNotFound is returned by Lookup when no actor has that name.
	ErrNotFound = errors.New("no actor registered")
	// ErrWrongType is returned by Lookup when the named actor takes another
	// message type than the one asked for.
	ErrWrongType = errors.New("actor has another message type")
	// ErrDuplicate is returned when a name is registered twice.
	ErrDuplicate = errors.New("actor name already registered")
	// ErrStopTimeout is returned by Run when some actor did not stop within
	// the stop timeout.
	ErrStopTimeout = errors.New("stop timed out")
)

// PanicError is what a panic inside an actor or task turns into. The stack
// is logged where the panic is recovered and kept here for the caller.
type PanicError struct {
	Name  string // actor or task name
	Value any    // the value passed to panic
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s panicked: %v", e.Name, e.Value)
}

// sendError names the actor in a mailbox error.
func sendError(name string, err error) error {
	return fmt.Errorf("send to %s: %w", name, err)
}
