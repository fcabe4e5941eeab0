package actor

import (
	"fmt"
	"sort"
	"sync"
)

// Registry maps actor names to Refs. Lookups are typed and return errors;
// they never panic. An actor is removed from the registry when it stops.
type Registry struct {
	mu   sync.RWMutex
	refs map[string]any
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{refs: make(map[string]any)} }

// Register adds ref under its name; a name can be registered once.
func Register[M any](reg *Registry, ref Ref[M]) error {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if _, ok := reg.refs[ref.Name()]; ok {
		return fmt.Errorf("register %q: %w", ref.Name(), ErrDuplicate)
	}
	reg.refs[ref.Name()] = ref
	return nil
}

// Lookup returns the Ref registered under name if it takes messages of
// type M.
func Lookup[M any](reg *Registry, name string) (Ref[M], error) {
	reg.mu.RLock()
	v, ok := reg.refs[name]
	reg.mu.RUnlock()
	if !ok {
		return Ref[M]{}, fmt.Errorf("lookup %q: %w", name, ErrNotFound)
	}
	ref, ok := v.(Ref[M])
	if !ok {
		return Ref[M]{}, fmt.Errorf("lookup %q: %w (it takes %T)", name, ErrWrongType, v)
	}
	return ref, nil
}

// Names lists the registered names in order.
func (reg *Registry) Names() []string {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	names := make([]string, 0, len(reg.refs))
	for n := range reg.refs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (reg *Registry) remove(name string) {
	reg.mu.Lock()
	delete(reg.refs, name)
	reg.mu.Unlock()
}
