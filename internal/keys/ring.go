package keys

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Ring holds the current Set and replaces it atomically on Reload. Readers
// (Set, Active, Lookup) never lock and may run concurrently with Reload.
type Ring struct {
	load func() (*Set, error)
	cur  atomic.Pointer[Set]

	reloadMu sync.Mutex // serialises Reload and its callbacks

	hooksMu sync.Mutex
	hooks   []func(old, new *Set)
}

// NewRing returns a Ring holding the Set returned by one call to load; a
// failing load is an error. Reload calls load again.
func NewRing(load func() (*Set, error)) (*Ring, error) {
	if load == nil {
		return nil, errors.New("keys: ring: nil load function")
	}
	s, err := load()
	if err != nil {
		return nil, fmt.Errorf("keys: ring: initial load: %w", err)
	}
	if s == nil {
		return nil, errors.New("keys: ring: initial load returned no set")
	}
	r := &Ring{load: load}
	r.cur.Store(s)
	return r, nil
}

// Reload calls load and, if it succeeds, swaps in the new Set and then calls
// every OnReload callback with the old and new sets before returning nil. If
// load fails, the current Set stays in place and the error is returned,
// wrapped. Reloads are serialised; readers never wait for them. A callback
// must not call Reload.
func (r *Ring) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	s, err := r.load()
	if err != nil {
		return fmt.Errorf("keys: reload (keeping the current keys): %w", err)
	}
	if s == nil {
		return errors.New("keys: reload (keeping the current keys): load returned no set")
	}
	old := r.cur.Swap(s)

	r.hooksMu.Lock()
	hooks := r.hooks[:len(r.hooks):len(r.hooks)]
	r.hooksMu.Unlock()
	for _, fn := range hooks {
		fn(old, s)
	}
	return nil
}

// Set returns the current Set.
func (r *Ring) Set() *Set { return r.cur.Load() }

// Active returns the current Set's active key.
func (r *Ring) Active() *Key { return r.cur.Load().Active() }

// Lookup finds kid in the current Set. It does not allocate.
func (r *Ring) Lookup(kid string) (*Key, bool) { return r.cur.Load().Lookup(kid) }

// OnReload registers fn to be called with the old and new Set after each
// successful Reload, in registration order.
func (r *Ring) OnReload(fn func(old, new *Set)) {
	if fn == nil {
		return
	}
	r.hooksMu.Lock()
	r.hooks = append(r.hooks, fn)
	r.hooksMu.Unlock()
}
