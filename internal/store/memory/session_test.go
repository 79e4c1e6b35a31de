package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/internal/testclock"
)

func TestSessions_Contract(t *testing.T) {
	storetest.RunSessions(t, func(_ *testing.T, now func() time.Time) console.Store {
		return memory.NewSessions(now)
	})
}

// TestSessions_Bounded: sign-ins that are never used again do not pile
// up: expired sessions are dropped as new ones come.
func TestSessions_Bounded(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(t0)
	s := memory.NewSessions(clk.Now)
	for i := range 10_000 {
		now := clk.Now()
		require.NoError(t, s.CreateSession(ctx, console.Session{ID: fmt.Sprint(i), ClientID: "c", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Minute)}, 0))
		clk.Advance(time.Second)
	}
	assert.LessOrEqual(t, s.Len(), 2048, "expired sessions are pruned")
}
