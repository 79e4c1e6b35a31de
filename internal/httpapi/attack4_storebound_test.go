package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// attack4WaitStore is a memory store whose denylist writes wait on the
// request context's Done (a stalled Redis) and report how the wait ended.
type attack4WaitStore struct {
	*memory.Store
	entered chan struct{}
	ended   chan error
}

func (s *attack4WaitStore) wait(ctx context.Context) error {
	s.entered <- struct{}{}
	<-ctx.Done()
	s.ended <- ctx.Err()
	return fmt.Errorf("stalled: %w: %w", revocation.ErrUnavailable, ctx.Err())
}

func (s *attack4WaitStore) Deny(ctx context.Context, _ string, _ time.Time) error { return s.wait(ctx) }

func (s *attack4WaitStore) DenyOnce(ctx context.Context, _ string, _ time.Time) (bool, error) {
	return false, s.wait(ctx)
}

// TestAttack4_StoreBoundClientGoneEndsWait: with a store-time bound of an
// hour, clients that hang up while their invalidation waits on a stalled
// store end that wait at once (the connection's cancellation reaches the
// lazily armed bound: Canceled, not the deadline), many at a time, and
// leave no goroutine behind (a bound armed and never released, or a
// watcher goroutine per request, would keep them).
func TestAttack4_StoreBoundClientGoneEndsWait(t *testing.T) {
	const n = 40
	ws := &attack4WaitStore{entered: make(chan struct{}, n), ended: make(chan error, n)}
	f := newAPI(t, withStore(func(m *memory.Store) apiStore {
		ws.Store = m
		return ws
	}), func(f *fixture) { f.tweak = func(cfg *httpapi.Config) { cfg.StoreTimeout = time.Hour } })
	toks := make([]string, n)
	for i := range toks {
		toks[i] = f.mint(map[string]any{"sub": fmt.Sprintf("u%d", i)}).AccessToken
	}
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	runtime.GC()
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, tok := range toks {
		wg.Go(func() {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v1/invalidate-token", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			if res, err := cl.Do(r); err == nil {
				res.Body.Close()
				t.Errorf("answered %d while the store stalls for an hour", res.StatusCode)
			}
		})
	}
	guard := time.After(30 * time.Second)
	for range n {
		select {
		case <-ws.entered:
		case <-guard:
			t.Fatal("not every request reached the store")
		}
	}
	cancel()
	for range n {
		select {
		case err := <-ws.ended:
			require.ErrorIs(t, err, context.Canceled, "the client's hang-up ended the wait, not the hour")
		case <-guard:
			t.Fatal("a store wait outlived its client")
		}
	}
	wg.Wait()
	tr.CloseIdleConnections()
	srv.CloseClientConnections()
	// Guarded poll (no timed assertion): the goroutines of the requests
	// end once their handlers return.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+5 },
		20*time.Second, 10*time.Millisecond, "goroutines: %d before", before)
}
