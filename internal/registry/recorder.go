package registry

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RecorderBy is the "by" of the AUTHENTICATE entries a Recorder writes.
const RecorderBy = "verify"

// maxRecorderBatch bounds how many events one flush writes.
const maxRecorderBatch = 1000

// authEvent is one authentication with a registered token.
type authEvent struct {
	recordID string
	at       time.Time
	ok       bool
}

// Recorder takes AUTHENTICATE log entries and first-use status changes off
// the verification hot path (DESIGN §8): Authenticated never blocks — it
// puts the event in a bounded buffer, or drops and counts it when the buffer
// is full — and Run writes the buffer to the store in batches. Close writes
// what is left; call it on shutdown.
type Recorder struct {
	store      UsageStore
	flushEvery time.Duration
	events     chan authEvent

	// mu orders Authenticated (read lock) before Close (write lock), so that
	// nothing is added to the buffer once Close has begun draining it.
	mu      sync.RWMutex
	closed  bool
	dropped atomic.Int64
	lost    atomic.Int64

	flushMu sync.Mutex // one flush at a time
	// full wakes Run when threshold events are buffered.
	full      chan struct{}
	threshold int
	stop      chan struct{}
	stopped   sync.Once
	running   sync.WaitGroup

	// bursts, if set, is told of the failures of each flush (token.auth_failures).
	bursts *BurstWatcher
}

// WatchFailures makes each flush tell w of the failed authentications it
// wrote; call it before Run. A nil w watches nothing.
func (r *Recorder) WatchFailures(w *BurstWatcher) { r.bursts = w }

// NewRecorder returns a Recorder with a buffer of size events (at least 1)
// that Run flushes every flushEvery (at least 10 ms), or sooner when a batch
// is full.
func NewRecorder(store UsageStore, size int, flushEvery time.Duration) *Recorder {
	size = max(size, 1)
	return &Recorder{
		store:      store,
		flushEvery: max(flushEvery, 10*time.Millisecond),
		events:     make(chan authEvent, size),
		full:       make(chan struct{}, 1),
		threshold:  max(min(size/2, maxRecorderBatch), 1),
		stop:       make(chan struct{}),
	}
}

// Authenticated records an authentication with the token of recordID at at:
// ok for a success (logged OK, and the record marked used), otherwise FAIL.
// It never blocks: when the buffer is full, or the Recorder is closed, the
// event is dropped and counted.
func (r *Recorder) Authenticated(recordID string, at time.Time, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.dropped.Add(1)
		return
	}
	select {
	case r.events <- authEvent{recordID: recordID, at: at, ok: ok}:
	default:
		r.dropped.Add(1)
		return
	}
	if len(r.events) >= r.threshold {
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
}

// Dropped returns how many events were dropped because the buffer was full
// or the Recorder closed.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Lost returns how many events were taken but could not be written (store failures).
func (r *Recorder) Lost() int64 { return r.lost.Load() }

// Pending returns how many events wait in the buffer.
func (r *Recorder) Pending() int { return len(r.events) }

// Run flushes the buffer every flushEvery, and whenever half the buffer
// (or a full batch) has gathered, until ctx ends or Close is called. Events
// still buffered then are left for Close.
func (r *Recorder) Run(ctx context.Context) {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return
	}
	r.running.Add(1)
	r.mu.RUnlock()
	defer r.running.Done()

	t := time.NewTicker(r.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-t.C:
			r.flush(ctx)
		case <-r.full:
			for len(r.events) >= r.threshold && ctx.Err() == nil {
				r.flush(ctx)
			}
		}
	}
}

// Close stops Run, then writes every buffered event with ctx; events that
// arrive afterwards are dropped. It returns ctx's error if ctx ends first.
// It may be called more than once.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.stopped.Do(func() { close(r.stop) })

	done := make(chan struct{})
	go func() {
		r.running.Wait()
		for len(r.events) > 0 && ctx.Err() == nil {
			r.flush(ctx)
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes up to maxRecorderBatch buffered events: their log entries in
// one AppendLogs, then the successful ones' latest use per record in one
// MarkUsed.
func (r *Recorder) flush(ctx context.Context) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	var batch []authEvent
	for n := min(len(r.events), maxRecorderBatch); len(batch) < n; {
		batch = append(batch, <-r.events)
	}
	if len(batch) == 0 {
		return
	}
	logs := make([]RecordLog, len(batch))
	var uses []Use
	for i, ev := range batch {
		res := ResultFail
		if ev.ok {
			res = ResultOK
			uses = append(uses, Use{RecordID: ev.recordID, At: ev.at})
		}
		logs[i] = RecordLog{RecordID: ev.recordID, Entry: LogEntry{Activity: ActivityAuthenticate, At: ev.at, By: RecorderBy, Result: res}}
	}
	if err := r.store.AppendLogs(ctx, logs); err != nil {
		r.lost.Add(int64(len(batch)))
		return
	}
	if len(uses) > 0 {
		if err := r.store.MarkUsed(ctx, uses); err != nil {
			r.lost.Add(int64(len(uses)))
		}
	}
	if r.bursts != nil {
		r.watchFailures(ctx, batch)
	}
}

// maxBurstRecords bounds the tokens whose failures one flush counts
// toward token.auth_failures (those with the most failures first), so
// that failures spread over many tokens cannot slow the flush that
// writes the audit log.
const maxBurstRecords = 64

// watchFailures tells the burst watcher of the batch's failures, per token.
func (r *Recorder) watchFailures(ctx context.Context, batch []authEvent) {
	fails := map[string]int{}
	for _, ev := range batch {
		if !ev.ok {
			fails[ev.recordID]++
		}
	}
	ids := slices.Collect(maps.Keys(fails))
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(fails[b], fails[a]), cmp.Compare(a, b)) })
	for _, id := range ids[:min(len(ids), maxBurstRecords)] {
		_ = r.bursts.Failed(ctx, id, fails[id]) // best effort: a failure here loses a warning, not a log entry
	}
}
