package webhook_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
)

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

// counter is a notify.Observer (called from concurrent attempts).
type counter struct {
	mu                      sync.Mutex
	delivered, failed, dead map[string]int
}

func newCounter() *counter {
	return &counter{delivered: map[string]int{}, failed: map[string]int{}, dead: map[string]int{}}
}

func (c *counter) add(m map[string]int, ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[ch]++
}
func (c *counter) Delivered(ch string) { c.add(c.delivered, ch) }
func (c *counter) Failed(ch string)    { c.add(c.failed, ch) }
func (c *counter) Dead(ch string)      { c.add(c.dead, ch) }

type rig struct {
	clock    *testclock.Clock
	outbox   *memory.Outbox
	hooks    *webhook.Service
	disp     *notify.Dispatcher
	count    *counter
	receiver *receiver
	secret   string
}

// newRig wires a memory outbox, the webhook service and a dispatcher on an
// injected clock (jitter fixed at its top: delays are exactly base*2^(n-1)),
// with one endpoint on a real receiver.
func newRig(t *testing.T, maxAttempts int, events ...string) *rig {
	clock := testclock.New(t0)
	r := &rig{clock: clock, outbox: memory.NewOutbox(clock.Now), count: newCounter(), receiver: newReceiver(t)}
	// Sends are bounded by the webhook timeout (a guard for the hanging
	// receiver, not an assertion): the clock decides everything else.
	r.hooks = webhook.NewService(webhook.Config{Store: memory.NewWebhooks(), AllowPrivate: true, Timeout: 300 * time.Millisecond, Grace: time.Hour, Now: clock.Now})
	r.disp = notify.NewDispatcher(notify.DispatcherConfig{
		Outbox: r.outbox, Router: notify.NewRoutes(nil, r.hooks), Consumer: "test", MaxAttempts: maxAttempts,
		BackoffBase: 10 * time.Second, BackoffMax: time.Hour, Lease: time.Minute, Concurrency: 4,
		Now: clock.Now, Rand: func() float64 { return 0.999999999 }, Observer: r.count,
	})
	if len(events) == 0 {
		events = []string{notify.TokenCreated}
	}
	ep, secret, err := r.hooks.Create(context.Background(), r.receiver.URL+"/hook", events)
	require.NoError(t, err)
	require.NotEmpty(t, ep.ID)
	r.secret = secret
	r.receiver.setSecrets(secret)
	return r
}

// pass makes one dispatcher pass and waits for its attempts.
func (r *rig) pass(t *testing.T) {
	t.Helper()
	require.NoError(t, r.disp.Pass(context.Background()))
	r.disp.Wait()
}

func event(id, typ string) notify.Event {
	return notify.Event{ID: id, Type: typ, At: t0, Owner: "alice", Token: &notify.Token{ID: "rec1", Type: "api", Name: "ci"}}
}

func TestDelivery_SignedAndFiltered(t *testing.T) {
	r := newRig(t, 3, notify.TokenCreated, notify.TokenRevoked)
	ctx := context.Background()
	require.NoError(t, r.outbox.Emit(ctx, event("evt_1", notify.TokenCreated), event("evt_2", notify.RoleGranted), event("evt_3", notify.TokenRevoked)))
	r.pass(t)
	ids, bad := r.receiver.delivered()
	assert.Empty(t, bad, "every request carries a valid signature")
	assert.ElementsMatch(t, []string{"evt_1", "evt_3"}, ids, "owner.role_granted is not in the endpoint's filter")
	assert.Equal(t, 2, r.count.delivered["webhook"])
	r.pass(t)
	ids, _ = r.receiver.delivered()
	assert.Len(t, ids, 2, "nothing is delivered twice")
}

func TestDelivery_RetriesWithBackoffThenDelivers(t *testing.T) {
	r := newRig(t, 5)
	ctx := context.Background()
	r.receiver.answer(500, 500, 200)
	require.NoError(t, r.outbox.Emit(ctx, event("evt_1", notify.TokenCreated)))
	r.pass(t) // attempt 1: 500
	ids, _ := r.receiver.delivered()
	require.Empty(t, ids)
	// The retry waits for its backoff: 10s after the first failure (jitter at its top).
	r.clock.Advance(9 * time.Second)
	r.pass(t)
	assert.Equal(t, 1, r.count.failed["webhook"], "not due before its backoff")
	r.clock.Advance(time.Second)
	r.pass(t) // attempt 2: 500
	assert.Equal(t, 2, r.count.failed["webhook"])
	r.clock.Advance(19 * time.Second)
	r.pass(t)
	assert.Equal(t, 2, r.count.failed["webhook"], "the second backoff doubles: 20s")
	r.clock.Advance(time.Second)
	r.pass(t) // attempt 3: 200
	ids, bad := r.receiver.delivered()
	assert.Empty(t, bad)
	assert.Equal(t, []string{"evt_1"}, ids, "delivered once after two failures")
	assert.Equal(t, 1, r.count.delivered["webhook"])
	r.clock.Advance(time.Hour)
	r.pass(t)
	ids, _ = r.receiver.delivered()
	assert.Len(t, ids, 1)
}

func TestDelivery_HangingReceiverDeadLetterThenRetry(t *testing.T) {
	const attempts = 3
	r := newRig(t, attempts)
	ctx := context.Background()
	r.receiver.setHang(true)
	require.NoError(t, r.outbox.Emit(ctx, event("evt_1", notify.TokenCreated)))
	for range attempts {
		r.pass(t)
		r.clock.Advance(time.Hour) // past any backoff
	}
	assert.Equal(t, attempts, r.count.failed["webhook"])
	assert.Equal(t, 1, r.count.dead["webhook"])
	dead, next, err := r.outbox.DeadLetters(ctx, 10, "")
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Empty(t, next)
	assert.Equal(t, "timeout", dead[0].LastError)
	assert.Equal(t, attempts, dead[0].Attempts)
	r.pass(t)
	assert.Equal(t, attempts, r.count.failed["webhook"], "a dead letter is not attempted again")

	r.receiver.setHang(false)
	_, err = r.outbox.Revive(ctx, dead[0].ID, r.clock.Now())
	require.NoError(t, err)
	r.pass(t)
	ids, bad := r.receiver.delivered()
	assert.Empty(t, bad)
	assert.Equal(t, []string{"evt_1"}, ids)
	dead, _, err = r.outbox.DeadLetters(ctx, 10, "")
	require.NoError(t, err)
	assert.Empty(t, dead)
}

func TestDelivery_SlowEndpointDoesNotResendToOthers(t *testing.T) {
	r := newRig(t, 5)
	ctx := context.Background()
	other := newReceiver(t)
	_, secret, err := r.hooks.Create(ctx, other.URL, []string{notify.TokenCreated})
	require.NoError(t, err)
	other.setSecrets(secret)
	r.receiver.answer(503, 503, 503)
	require.NoError(t, r.outbox.Emit(ctx, event("evt_1", notify.TokenCreated)))
	for range 4 {
		r.pass(t)
		r.clock.Advance(time.Hour)
	}
	ids, _ := other.delivered()
	assert.Equal(t, []string{"evt_1"}, ids, "the healthy endpoint got the event once while the other failed three times")
	ids, _ = r.receiver.delivered()
	assert.Equal(t, []string{"evt_1"}, ids)
}

func TestDelivery_RotatedSecretGrace(t *testing.T) {
	r := newRig(t, 3)
	ctx := context.Background()
	eps, err := r.hooks.List(ctx)
	require.NoError(t, err)
	_, newSecret, err := r.hooks.RotateSecret(ctx, eps[0].ID)
	require.NoError(t, err)
	require.NotEqual(t, r.secret, newSecret)
	// Within the grace period a receiver still holding the old secret verifies...
	require.NoError(t, r.outbox.Emit(ctx, event("evt_1", notify.TokenCreated)))
	r.pass(t)
	// ...and so does one that switched to the new one.
	r.receiver.setSecrets(newSecret)
	require.NoError(t, r.outbox.Emit(ctx, event("evt_2", notify.TokenCreated)))
	r.pass(t)
	// After the grace period only the new secret signs.
	r.clock.Advance(time.Hour + time.Second)
	r.receiver.setSecrets(r.secret)
	require.NoError(t, r.outbox.Emit(ctx, event("evt_3", notify.TokenCreated)))
	r.pass(t)
	ids, bad := r.receiver.delivered()
	assert.Equal(t, []string{"evt_1", "evt_2"}, ids)
	require.Len(t, bad, 1, "the old secret no longer verifies after the grace period")
}

func TestDelivery_RedirectIsAFailure(t *testing.T) {
	r := newRig(t, 2)
	r.receiver.answer(302, 307)
	require.NoError(t, r.outbox.Emit(context.Background(), event("evt_1", notify.TokenCreated)))
	r.pass(t)
	r.clock.Advance(time.Hour)
	r.pass(t)
	assert.Equal(t, 1, r.count.dead["webhook"], "redirects are not followed and count as failures")
	dead, _, err := r.outbox.DeadLetters(context.Background(), 10, "")
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, "HTTP 307", dead[0].LastError)
}

func TestBackoff_Bounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		rnd  float64
	}{{"JitterLow", 0}, {"JitterHigh", 0.999999}} {
		t.Run(tc.name, func(t *testing.T) {
			d := notify.NewDispatcher(notify.DispatcherConfig{BackoffBase: 10 * time.Second, BackoffMax: time.Minute, Rand: func() float64 { return tc.rnd }})
			for n, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute, time.Minute} {
				got := d.Backoff(n + 1)
				assert.LessOrEqual(t, got, want, fmt.Sprintf("attempt %d", n+1))
				assert.GreaterOrEqual(t, got, want/2, fmt.Sprintf("attempt %d", n+1))
			}
			assert.LessOrEqual(t, d.Backoff(1000), time.Minute, "no overflow")
		})
	}
}
