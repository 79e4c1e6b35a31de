package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/testclock"
)

// RunSessions runs the contract suite of console session stores. newStore
// must return a new, empty store that reads the time from now; the suite
// advances now to test expiry. Subtests run in parallel.
func RunSessions(t *testing.T, newStore func(t *testing.T, now func() time.Time) console.Store) {
	t.Helper()
	for _, tc := range sessionCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			tc.run(t, newStore(t, clk.Now), clk)
		})
	}
}

var sessionCases = []struct {
	name string
	run  func(t *testing.T, s console.Store, clk *testclock.Clock)
}{
	{"CreateGet", testSessionCreateGet},
	{"ErrNotFound", testSessionNotFound},
	{"Expiry", testSessionExpiry},
	{"Touch", testSessionTouch},
	{"TouchNeverCreates", testSessionTouchMissing},
	{"Delete", testSessionDelete},
	{"Copies", testSessionCopies},
	{"PerClientBound", testSessionPerClientBound},
	{"PerClientBoundSkipsEnded", testSessionPerClientBoundSkipsEnded},
}

// sampleSession is a session of client c1 created at clk's now, for an hour.
func sampleSession(id string, clk *testclock.Clock) console.Session {
	now := clk.Now().UTC()
	return console.Session{ID: id, ClientID: "c1", SecretTag: []byte{1, 2, 3, 4},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
}

func testSessionCreateGet(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	want := sampleSession("a1", clk)
	require.NoError(t, s.CreateSession(ctx, want, 0))
	got, err := s.GetSession(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.ClientID, got.ClientID)
	assert.Equal(t, want.SecretTag, got.SecretTag)
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt), "CreatedAt %v, want %v", got.CreatedAt, want.CreatedAt)
	assert.True(t, want.LastSeen.Equal(got.LastSeen))
	assert.True(t, want.ExpiresAt.Equal(got.ExpiresAt))
}

func testSessionNotFound(t *testing.T, s console.Store, _ *testclock.Clock) {
	_, err := s.GetSession(context.Background(), "nope")
	assert.ErrorIs(t, err, console.ErrNotFound)
}

func testSessionExpiry(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateSession(ctx, sampleSession("a1", clk), 0))
	clk.Advance(time.Hour - time.Second)
	_, err := s.GetSession(ctx, "a1")
	require.NoError(t, err, "live until its ExpiresAt")
	clk.Advance(time.Second)
	_, err = s.GetSession(ctx, "a1")
	assert.ErrorIs(t, err, console.ErrNotFound, "gone at its ExpiresAt")
	assert.ErrorIs(t, s.TouchSession(ctx, "a1", clk.Now(), clk.Now().Add(time.Hour)), console.ErrNotFound,
		"an expired session cannot be brought back")
}

func testSessionTouch(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateSession(ctx, sampleSession("a1", clk), 0))
	clk.Advance(50 * time.Minute)
	seen := clk.Now().UTC()
	require.NoError(t, s.TouchSession(ctx, "a1", seen, seen.Add(time.Hour)))
	clk.Advance(30 * time.Minute) // past the first ExpiresAt
	got, err := s.GetSession(ctx, "a1")
	require.NoError(t, err, "the touch moved the expiry on")
	assert.True(t, got.LastSeen.Equal(seen))
	assert.True(t, got.ExpiresAt.Equal(seen.Add(time.Hour)))
	assert.Equal(t, "c1", got.ClientID, "a touch keeps the rest")
}

func testSessionTouchMissing(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	assert.ErrorIs(t, s.TouchSession(ctx, "ghost", clk.Now(), clk.Now().Add(time.Hour)), console.ErrNotFound)
	_, err := s.GetSession(ctx, "ghost")
	assert.ErrorIs(t, err, console.ErrNotFound)
}

func testSessionDelete(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateSession(ctx, sampleSession("a1", clk), 0))
	require.NoError(t, s.CreateSession(ctx, sampleSession("a2", clk), 0))
	require.NoError(t, s.DeleteSession(ctx, "a1"))
	_, err := s.GetSession(ctx, "a1")
	assert.ErrorIs(t, err, console.ErrNotFound)
	_, err = s.GetSession(ctx, "a2")
	assert.NoError(t, err, "other sessions stay")
	assert.NoError(t, s.DeleteSession(ctx, "a1"), "deleting a missing session is no error")
}

func testSessionCopies(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	in := sampleSession("a1", clk)
	require.NoError(t, s.CreateSession(ctx, in, 0))
	in.SecretTag[0] = 9
	got, err := s.GetSession(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, byte(1), got.SecretTag[0], "the store keeps its own copy")
	got.SecretTag[1] = 9
	again, err := s.GetSession(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, byte(2), again.SecretTag[1])
}

// testSessionPerClientBound: with keep 3, a client's fourth sign-in ends
// its oldest session, other clients' sessions stay, and the new session
// survives even when it is not the newest by CreatedAt.
func testSessionPerClientBound(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	other := sampleSession("o1", clk)
	other.ClientID = "c2"
	require.NoError(t, s.CreateSession(ctx, other, 3))
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		require.NoError(t, s.CreateSession(ctx, sampleSession(id, clk), 3))
		clk.Advance(time.Second)
	}
	live := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			if _, err := s.GetSession(ctx, id); err == nil {
				out = append(out, id)
			} else {
				require.ErrorIs(t, err, console.ErrNotFound)
			}
		}
		return out
	}
	assert.Equal(t, []string{"a3", "a4", "a5", "o1"}, live("a1", "a2", "a3", "a4", "a5", "o1"))
	// A session created with an older CreatedAt (a clock behind) is kept
	// all the same: the oldest other one ends.
	old := sampleSession("a0", clk)
	old.CreatedAt = old.CreatedAt.Add(-time.Hour)
	require.NoError(t, s.CreateSession(ctx, old, 3))
	assert.Equal(t, []string{"a0", "a4", "a5"}, live("a0", "a3", "a4", "a5"))
	// Touching a session does not change its age.
	require.NoError(t, s.TouchSession(ctx, "a4", clk.Now(), clk.Now().Add(time.Hour)))
	require.NoError(t, s.CreateSession(ctx, sampleSession("a6", clk), 3))
	assert.Equal(t, []string{"a4", "a5", "a6"}, live("a0", "a4", "a5", "a6"))
}

// testSessionPerClientBoundSkipsEnded: sessions already ended (signed out,
// expired) do not count toward the bound.
func testSessionPerClientBoundSkipsEnded(t *testing.T, s console.Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateSession(ctx, sampleSession("a1", clk), 2))
	clk.Advance(time.Second)
	short := sampleSession("s1", clk)
	short.ExpiresAt = clk.Now().Add(time.Minute)
	require.NoError(t, s.CreateSession(ctx, short, 2))
	clk.Advance(2 * time.Minute) // s1 expired
	require.NoError(t, s.CreateSession(ctx, sampleSession("a2", clk), 2))
	require.NoError(t, s.DeleteSession(ctx, "a2")) // signed out
	clk.Advance(time.Second)
	require.NoError(t, s.CreateSession(ctx, sampleSession("a3", clk), 2))
	for _, id := range []string{"a1", "a3"} {
		_, err := s.GetSession(ctx, id)
		assert.NoError(t, err, "%s: ended sessions made room, no live one ended", id)
	}
}
