package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Confirmer tells whether the change an event reports is visible in the
// store. Producers write an event before the change it reports (so that
// no change exists without its event, even across stores that cannot
// write both atomically: Redis Cluster); the dispatcher delivers an event
// only once its change is confirmed, and drops it if the change is still
// not visible ConfirmWindow after the event (the change failed).
type Confirmer interface {
	// Confirm reports whether e's change is visible; events that report
	// no change (expiry, auth failures) are confirmed.
	Confirm(ctx context.Context, e Event) (bool, error)
}

// Observer counts what the dispatcher does, by channel label (ChannelLabel);
// it is called from concurrent attempts.
type Observer interface {
	Delivered(channel string)
	Failed(channel string)
	Dead(channel string)
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Outbox Outbox
	Router Router
	// Confirm, if set, gates delivery on the event's change (Confirmer).
	Confirm       Confirmer
	ConfirmWindow time.Duration
	// Consumer names this instance in the outbox (unique per instance).
	Consumer string
	// MaxAttempts failed attempts make a dead letter.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the delay between attempts: after
	// the n-th failure a delay d = min(BackoffBase*2^(n-1), BackoffMax) is
	// drawn in [d/2, d] with Rand.
	BackoffBase, BackoffMax time.Duration
	// Lease is how long one attempt may hold a delivery (and bounds it).
	Lease time.Duration
	// Concurrency bounds the attempts in flight.
	Concurrency int
	// Batch is how many events and deliveries one pass reads (default 100).
	Batch int
	// Now is the clock of due times (default time.Now); Rand returns a
	// number in [0, 1) for jitter (default math/rand/v2).
	Now    func() time.Time
	Rand   func() float64
	Logger *slog.Logger
	// Observer, if set, counts deliveries, failures and dead letters.
	Observer Observer
}

// Dispatcher moves events from the outbox to their channels: it fans new
// events out into one delivery per destination, and attempts the due
// deliveries, with retries, backoff and dead letters. Several dispatchers
// (instances) may share one outbox.
type Dispatcher struct {
	cfg DispatcherConfig
	sem chan struct{}
	wg  sync.WaitGroup

	mu      sync.Mutex
	pending map[string]int64
	dead    map[string]int64
	dropped atomic.Int64
}

// NewDispatcher returns a Dispatcher; Run drives it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.ConfirmWindow <= 0 {
		cfg.ConfirmWindow = 5 * time.Minute
	}
	return &Dispatcher{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency)}
}

// Run makes a pass every interval until ctx ends, then waits for the
// attempts in flight (each bounded by Lease).
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	defer d.wg.Wait()
	failing := false
	for {
		// One warning when passes start failing (Redis down), one line when
		// they work again: not one per poll.
		switch err := d.Pass(ctx); {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			d.cfg.Logger.Warn("notify: dispatcher pass failed; retrying every poll interval", slog.String("err", err.Error()))
		case err != nil && ctx.Err() == nil:
			d.cfg.Logger.Debug("notify: dispatcher pass failed", slog.String("err", err.Error()))
		case err == nil && failing:
			failing = false
			d.cfg.Logger.Info("notify: dispatcher passes work again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass fans out the pending events, starts an attempt for each due
// delivery (up to the free concurrency; attempts run in the background)
// and refreshes the counts.
func (d *Dispatcher) Pass(ctx context.Context) error {
	var errs []error
	for {
		n, err := d.fanout(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if n < d.cfg.Batch {
			break
		}
	}
	errs = append(errs, d.attempt(ctx))
	if p, dd, err := d.cfg.Outbox.Counts(ctx); err == nil {
		d.mu.Lock()
		d.pending, d.dead = p, dd
		d.mu.Unlock()
	} else {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Wait waits for the attempts started by Pass.
func (d *Dispatcher) Wait() { d.wg.Wait() }

// Pending returns the deliveries waiting for label as of the last pass.
func (d *Dispatcher) Pending(label string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending[label]
}

// DeadLetters returns the dead letters of label as of the last pass.
func (d *Dispatcher) DeadLetters(label string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dead[label]
}

// Dropped counts the events dropped because their change never became visible.
func (d *Dispatcher) Dropped() int64 { return d.dropped.Load() }

func (d *Dispatcher) fanout(ctx context.Context) (int, error) {
	ps, err := d.cfg.Outbox.Claim(ctx, d.cfg.Consumer, d.cfg.Lease, d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	now := d.cfg.Now()
	for _, p := range ps {
		dests, err := d.cfg.Router.Destinations(ctx, p.Event)
		if err != nil {
			return 0, fmt.Errorf("destinations of %s: %w", p.Event.ID, err)
		}
		ds := make([]Delivery, 0, len(dests))
		for _, dest := range dests {
			ds = append(ds, Delivery{ID: DeliveryID(p.Event.ID, dest), Dest: dest, Event: p.Event, Due: now})
		}
		if err := d.cfg.Outbox.Fanout(ctx, p, ds); err != nil {
			return 0, err
		}
	}
	return len(ps), nil
}

func (d *Dispatcher) attempt(ctx context.Context) error {
	free := cap(d.sem) - len(d.sem)
	if free == 0 {
		return nil
	}
	ds, err := d.cfg.Outbox.Due(ctx, d.cfg.Now(), d.cfg.Lease, min(free, d.cfg.Batch))
	if err != nil {
		return err
	}
	for _, dl := range ds {
		d.sem <- struct{}{}
		d.wg.Add(1)
		go func() {
			defer func() { <-d.sem; d.wg.Done() }()
			d.deliver(ctx, dl)
		}()
	}
	return nil
}

// settleTimeout bounds the outbox write that settles an attempt.
const settleTimeout = 10 * time.Second

// deliver makes one attempt of dl and settles it.
func (d *Dispatcher) deliver(ctx context.Context, dl Delivery) {
	log := d.cfg.Logger.With(slog.String("event_id", dl.Event.ID), slog.String("event_type", dl.Event.Type),
		slog.String("channel", ChannelLabel(dl.Dest)))
	// The attempt ends with the dispatcher (shutdown): its lease then runs
	// out and an instance attempts it again. What settles an attempt is
	// written even during shutdown, so a delivered event is not sent again.
	run := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(run), d.cfg.Lease)
	defer cancel()
	stop := context.AfterFunc(run, cancel)
	defer stop()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(run), settleTimeout)
	defer scancel()
	settle := func(what string, err error) {
		if err != nil {
			log.Warn("notify: could not record the outcome of a delivery; it will be attempted again",
				slog.String("outcome", what), slog.String("err", err.Error()))
		}
	}
	ch, ok, err := d.cfg.Router.Channel(ctx, dl.Dest)
	if err != nil {
		d.retry(sctx, dl, "destination lookup failed", false)
		return
	}
	if !ok {
		log.Info("notify: destination gone; delivery dropped")
		settle("dropped", d.cfg.Outbox.Complete(sctx, dl))
		return
	}
	if d.cfg.Confirm != nil {
		confirmed, err := d.cfg.Confirm.Confirm(ctx, dl.Event)
		switch {
		case err != nil:
			d.retry(sctx, dl, "change not confirmed: store unavailable", false)
			return
		case !confirmed && d.cfg.Now().Sub(dl.Event.At) > d.cfg.ConfirmWindow:
			d.dropped.Add(1)
			log.Info("notify: event dropped: its change never became visible")
			settle("dropped", d.cfg.Outbox.Complete(sctx, dl))
			return
		case !confirmed:
			d.retry(sctx, dl, "change not visible yet", false)
			return
		}
	}
	err = ch.Deliver(ctx, dl.Event)
	if err != nil && run.Err() != nil {
		return // stopped mid-attempt: not the destination's failure
	}
	if err != nil {
		log.Info("notify: delivery attempt failed", slog.Int("attempt", dl.Attempts+1), slog.String("err", err.Error()))
		d.retry(sctx, dl, err.Error(), true)
		return
	}
	settle("delivered", d.cfg.Outbox.Complete(sctx, dl))
	if d.cfg.Observer != nil {
		d.cfg.Observer.Delivered(ChannelLabel(dl.Dest))
	}
}

// retry reschedules dl after a failure; counted failures make a dead
// letter after MaxAttempts.
func (d *Dispatcher) retry(ctx context.Context, dl Delivery, reason string, counted bool) {
	now := d.cfg.Now()
	label := ChannelLabel(dl.Dest)
	dl.LastError = reason
	if !counted {
		dl.Due = now.Add(min(d.cfg.BackoffBase, time.Second))
		_ = d.cfg.Outbox.Reschedule(ctx, dl)
		return
	}
	dl.Attempts++
	if d.cfg.Observer != nil {
		d.cfg.Observer.Failed(label)
	}
	if dl.Attempts >= d.cfg.MaxAttempts {
		dl.DeadAt = now
		if err := d.cfg.Outbox.Bury(ctx, dl); err != nil {
			d.cfg.Logger.Warn("notify: could not bury a dead letter", slog.String("event_id", dl.Event.ID), slog.String("err", err.Error()))
			return
		}
		d.cfg.Logger.Warn("notify: delivery is a dead letter", slog.String("event_id", dl.Event.ID),
			slog.String("channel", label), slog.Int("attempts", dl.Attempts), slog.String("last_error", reason))
		if d.cfg.Observer != nil {
			d.cfg.Observer.Dead(label)
		}
		return
	}
	dl.Due = now.Add(d.Backoff(dl.Attempts))
	if err := d.cfg.Outbox.Reschedule(ctx, dl); err != nil {
		d.cfg.Logger.Warn("notify: could not reschedule a delivery", slog.String("event_id", dl.Event.ID), slog.String("err", err.Error()))
	}
}

// Backoff is the delay after the n-th failed attempt (n >= 1):
// d = min(BackoffBase*2^(n-1), BackoffMax), drawn in [d/2, d].
func (d *Dispatcher) Backoff(n int) time.Duration {
	delay := d.cfg.BackoffMax
	if n-1 < 40 {
		if b := d.cfg.BackoffBase << (n - 1); b > 0 && b < delay {
			delay = b
		}
	}
	half := delay / 2
	return half + time.Duration(d.cfg.Rand()*float64(delay-half))
}
