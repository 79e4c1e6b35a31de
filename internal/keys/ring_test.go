package keys_test

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

func TestNewRing(t *testing.T) {
	set := mustSet(t, newKey(t, keys.EdDSA, time.Now()))
	errLoad := errors.New("disk on fire")

	tests := []struct {
		name    string
		load    func() (*keys.Set, error)
		wantErr bool
		wantIs  error
	}{
		{name: "OK", load: func() (*keys.Set, error) { return set, nil }},
		{name: "ErrLoad", load: func() (*keys.Set, error) { return nil, errLoad }, wantErr: true, wantIs: errLoad},
		{name: "ErrNilSet", load: func() (*keys.Set, error) { return nil, nil }, wantErr: true},
		{name: "ErrNilLoad", load: nil, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := keys.NewRing(tc.load)
			if tc.wantErr {
				require.Nil(t, r)
				require.Error(t, err)
				if tc.wantIs != nil {
					require.ErrorIs(t, err, tc.wantIs)
				}
				return
			}
			require.NoError(t, err)
			require.Same(t, set, r.Set())
			require.Same(t, set.Active(), r.Active())
		})
	}
}

func mustSet(tb testing.TB, ks ...*keys.Key) *keys.Set {
	tb.Helper()
	s, err := keys.NewSet(ks, "")
	require.NoError(tb, err)
	return s
}

// seqLoader returns the results in order, then repeats the last one.
type seqLoader struct {
	mu      sync.Mutex
	results []func() (*keys.Set, error)
	calls   int
}

func (l *seqLoader) load() (*keys.Set, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := min(l.calls, len(l.results)-1)
	l.calls++
	return l.results[i]()
}

func TestRing_Reload(t *testing.T) {
	now := time.Now()
	ed, es := newKey(t, keys.EdDSA, now), newKey(t, keys.ES256, now.Add(time.Second))
	setA, setB := mustSet(t, ed), mustSet(t, ed, es)
	errLoad := errors.New("bad key file")
	ok := func(s *keys.Set) func() (*keys.Set, error) { return func() (*keys.Set, error) { return s, nil } }
	fail := func() (*keys.Set, error) { return nil, errLoad }

	tests := []struct {
		name       string
		results    []func() (*keys.Set, error)
		wantErr    bool
		wantIs     error
		wantSet    *keys.Set
		wantActive *keys.Key
		wantHooks  int
	}{
		{name: "OK", results: []func() (*keys.Set, error){ok(setA), ok(setB)}, wantSet: setB, wantActive: es, wantHooks: 1},
		{name: "ErrLoadKeepsOld", results: []func() (*keys.Set, error){ok(setA), fail}, wantErr: true, wantIs: errLoad, wantSet: setA, wantActive: ed},
		{name: "ErrNilSetKeepsOld", results: []func() (*keys.Set, error){ok(setA), ok(nil)}, wantErr: true, wantSet: setA, wantActive: ed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &seqLoader{results: tc.results}
			r, err := keys.NewRing(l.load)
			require.NoError(t, err)
			type call struct{ old, new *keys.Set }
			var calls []call
			r.OnReload(func(old, new *keys.Set) { calls = append(calls, call{old, new}) })

			err = r.Reload()
			if tc.wantErr {
				require.ErrorContains(t, err, "reload")
				if tc.wantIs != nil {
					require.ErrorIs(t, err, tc.wantIs)
				}
			} else {
				require.NoError(t, err)
			}
			require.Same(t, tc.wantSet, r.Set())
			require.Same(t, tc.wantActive, r.Active())
			require.Len(t, calls, tc.wantHooks)
			if tc.wantHooks > 0 {
				require.Same(t, setA, calls[0].old)
				require.Same(t, tc.wantSet, calls[0].new)
			}
			k, found := r.Lookup(ed.KID)
			require.True(t, found)
			require.Same(t, ed, k)
		})
	}
}

func TestRing_OnReload(t *testing.T) {
	now := time.Now()
	sets := []*keys.Set{
		mustSet(t, newKey(t, keys.EdDSA, now)),
		mustSet(t, newKey(t, keys.EdDSA, now)),
		mustSet(t, newKey(t, keys.EdDSA, now)),
	}
	var i atomic.Int32
	r, err := keys.NewRing(func() (*keys.Set, error) { return sets[i.Add(1)-1], nil })
	require.NoError(t, err)

	var order []string
	var seen [][2]*keys.Set
	r.OnReload(func(old, new *keys.Set) {
		order = append(order, "first")
		seen = append(seen, [2]*keys.Set{old, new})
	})
	r.OnReload(nil) // ignored
	r.OnReload(func(old, new *keys.Set) { order = append(order, "second") })

	require.NoError(t, r.Reload())
	require.NoError(t, r.Reload())
	require.Equal(t, []string{"first", "second", "first", "second"}, order)
	require.Equal(t, [][2]*keys.Set{{sets[0], sets[1]}, {sets[1], sets[2]}}, seen)
}

func TestRing_ReloadFromDir(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ed, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	edPath, edKey := writeKey(t, dir, ed, t0)

	r, err := keys.NewRing(dirLoader(dir))
	require.NoError(t, err)
	require.Equal(t, edKey.KID, r.Active().KID)

	var removed []string
	r.OnReload(func(old, new *keys.Set) {
		for _, k := range old.All() {
			if _, ok := new.Lookup(k.KID); !ok {
				removed = append(removed, k.KID)
			}
		}
	})

	// Rotation: a newer key becomes active, the old one still verifies.
	es, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	_, esKey := writeKey(t, dir, es, t0.Add(time.Hour))
	require.NoError(t, r.Reload())
	require.Equal(t, esKey.KID, r.Active().KID)
	_, ok := r.Lookup(edKey.KID)
	require.True(t, ok)

	// A broken file fails the reload and keeps the current keys.
	bad := writeFile(t, dir, "broken.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA"))
	before := r.Set()
	err = r.Reload()
	require.ErrorContains(t, err, bad)
	require.Same(t, before, r.Set())
	require.NoError(t, os.Remove(bad))

	// Retiring the old key drops it; OnReload sees it go.
	require.NoError(t, os.Remove(edPath))
	require.NoError(t, r.Reload())
	_, ok = r.Lookup(edKey.KID)
	require.False(t, ok)
	require.Equal(t, []string{edKey.KID}, removed)
}

func TestRing_ConcurrentLookupDuringReload(t *testing.T) {
	now := time.Now()
	shared := newKey(t, keys.EdDSA, now)
	onlyA, onlyB := newKey(t, keys.EdDSA, now.Add(time.Second)), newKey(t, keys.ES256, now.Add(time.Second))
	setA, setB := mustSet(t, shared, onlyA), mustSet(t, shared, onlyB)

	var n atomic.Int64
	r, err := keys.NewRing(func() (*keys.Set, error) {
		if n.Add(1)%2 == 1 {
			return setA, nil
		}
		return setB, nil
	})
	require.NoError(t, err)
	var hookCalls atomic.Int64
	r.OnReload(func(old, new *keys.Set) {
		if old != new {
			hookCalls.Add(1)
		}
	})

	const readers, reloads = 8, 200
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if k, ok := r.Lookup(shared.KID); !ok || k != shared {
					errs <- errors.New("shared key missing during reload")
					return
				}
				active := r.Active()
				if active != onlyA && active != onlyB {
					errs <- errors.New("unexpected active key")
					return
				}
				// A Set read once is self-consistent.
				s := r.Set()
				if _, ok := s.Lookup(s.Active().KID); !ok {
					errs <- errors.New("active key not in its own set")
					return
				}
				_ = s.JWKS()
			}
		}()
	}
	var reloadWG sync.WaitGroup
	for range 4 {
		reloadWG.Add(1)
		go func() {
			defer reloadWG.Done()
			for range reloads / 4 {
				if err := r.Reload(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	reloadWG.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(reloads), hookCalls.Load())
}

func TestRing_LookupNoAlloc(t *testing.T) {
	k := newKey(t, keys.EdDSA, time.Now())
	r, err := keys.NewRing(func() (*keys.Set, error) { return mustSet(t, k), nil })
	require.NoError(t, err)
	kid := k.KID
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = r.Lookup(kid)
		_ = r.Active()
	})
	require.Zero(t, allocs)
}
