// Package expiry is the expiry scanner of notifications: it emits
// token.expiring once per token, generation and lead time (default 7 days
// and 1 day before) and token.expired once per token and generation.
//
// It reads the registry's expiry index (records by expiresAt) from a stored
// cursor per lead time, so each run reads only the records that entered a
// window since the last run, never the whole keyspace. One instance at a
// time scans: a lease in the store (Redis: SET NX PX, renewed and released
// only by its holder's value). Each event's id is derived from the token id,
// its generation and the lead time, so a second emission is a duplicate the
// outbox recognises, and a durable sent mark keeps a restart from emitting
// it again.
package expiry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/registry"
)

// Store is what the scanner reads and keeps; the registry stores
// (internal/store/memory.Registry, internal/store/redis.Store) satisfy it.
type Store interface {
	GetRecord(ctx context.Context, id string) (registry.Record, error)
	registry.ExpiryIndex
	// ScanCursor and SetScanCursor keep one position of the index per name.
	ScanCursor(ctx context.Context, name string) (registry.ExpiryPos, bool, error)
	SetScanCursor(ctx context.Context, name string, pos registry.ExpiryPos) error
	// Marked and Mark keep the sent marks (key: the event id) for a TTL.
	Marked(ctx context.Context, key string) (bool, error)
	Mark(ctx context.Context, key string, ttl time.Duration) error
	// The lease: taken if free (or already the holder's), renewed and
	// released only by the holder.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// DefaultLeads are the lead times of token.expiring when none are configured.
var DefaultLeads = []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}

// LeaseName is the name of the scanner's lease.
const LeaseName = "expiry-scanner"

// Config configures a Scanner.
type Config struct {
	Store   Store
	Emitter notify.Emitter
	// Leads are the lead times of token.expiring (nil: DefaultLeads; empty
	// non-nil: none, only token.expired).
	Leads []time.Duration
	// Interval is the time between runs of Run (default 1m).
	Interval time.Duration
	// LeaseTTL is how long the lease lasts unless renewed (default 3 ×
	// Interval, at least 30s): a crashed holder's lease is taken after it.
	LeaseTTL time.Duration
	// Skew is how far before its cursor each run reads again, so that a
	// record written by an instance whose clock is behind is not missed;
	// the sent marks drop what was already emitted (default 1m).
	Skew time.Duration
	// Batch is how many index entries are read at a time (default 200).
	Batch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Holder names this scanner in the lease (default random).
	Holder string
	Logger *slog.Logger
}

// Scanner emits expiry events; see the package comment.
type Scanner struct {
	cfg   Config
	leads []time.Duration // longest first
}

// New returns a Scanner; Store and Emitter are required.
func New(cfg Config) (*Scanner, error) {
	if cfg.Store == nil || cfg.Emitter == nil {
		return nil, errors.New("expiry: Store and Emitter are required")
	}
	if cfg.Leads == nil {
		cfg.Leads = DefaultLeads
	}
	for _, l := range cfg.Leads {
		if l <= 0 {
			return nil, fmt.Errorf("expiry: lead time %s is not positive", l)
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = max(3*cfg.Interval, 30*time.Second)
	}
	if cfg.Skew <= 0 {
		cfg.Skew = time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Holder == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		cfg.Holder = hex.EncodeToString(b)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	leads := slices.Clone(cfg.Leads)
	slices.Sort(leads)
	slices.Reverse(leads)
	leads = slices.Compact(leads)
	return &Scanner{cfg: cfg, leads: leads}, nil
}

// ErrNotLeader is returned by RunOnce when another scanner holds the lease.
var ErrNotLeader = errors.New("expiry: another instance holds the scanner lease")

// errLeaseLost: the lease ran out during a run (the run stops; the new holder goes on).
var errLeaseLost = errors.New("expiry: the scanner lease was lost during the run")

// Run scans every Interval until ctx ends, then releases the lease.
func (s *Scanner) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.Release(rctx)
	}()
	for {
		n, err := s.RunOnce(ctx)
		switch {
		case err == nil && n > 0:
			s.cfg.Logger.Info("expiry scanner emitted events", slog.Int("events", n))
		case errors.Is(err, ErrNotLeader):
			s.cfg.Logger.Debug("expiry scanner: another instance holds the lease")
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.Warn("expiry scanner failed; retrying at the next interval", slog.Int("events", n), slog.String("err", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Release gives the lease up (if this scanner holds it), so that another
// instance takes over at once rather than after LeaseTTL; Run does it when
// it ends.
func (s *Scanner) Release(ctx context.Context) error {
	return s.cfg.Store.ReleaseLease(ctx, LeaseName, s.cfg.Holder)
}

// RunOnce takes (or keeps) the lease and emits the events due at Now: it
// returns how many it emitted, and ErrNotLeader without scanning if another
// scanner holds the lease. The lease is kept for the next run (it runs out
// after LeaseTTL unless renewed).
func (s *Scanner) RunOnce(ctx context.Context) (int, error) {
	ok, err := s.cfg.Store.AcquireLease(ctx, LeaseName, s.cfg.Holder, s.cfg.LeaseTTL)
	if err != nil {
		return 0, fmt.Errorf("expiry: lease: %w", err)
	}
	if !ok {
		return 0, ErrNotLeader
	}
	now := s.cfg.Now().UTC()
	total := 0
	for i, lead := range s.leads {
		next := time.Duration(0) // the next shorter lead, 0 after the last
		if i+1 < len(s.leads) {
			next = s.leads[i+1]
		}
		n, err := s.scan(ctx, now, lead, next)
		total += n
		if err != nil {
			return total, err
		}
	}
	n, err := s.scan(ctx, now, 0, 0)
	return total + n, err
}

// cursorName names the cursor of a lead ("expired" for 0).
func cursorName(lead time.Duration) string {
	if lead == 0 {
		return "expired"
	}
	return "expiring:" + LeadString(lead)
}

// LeadString writes a lead time as the events carry it: "168h", "24h", "90m", "45s".
func LeadString(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// scan emits the events of one lead (token.expired for 0) for the records
// whose expiry entered its window, (cursor, now+lead], and moves the cursor.
// next is the next shorter lead: a record already inside it gets that
// warning only, not this one too.
func (s *Scanner) scan(ctx context.Context, now time.Time, lead, next time.Duration) (int, error) {
	name := cursorName(lead)
	until := now.Add(lead)
	cur, ok, err := s.cfg.Store.ScanCursor(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("expiry: read cursor %s: %w", name, err)
	}
	if !ok {
		// A first run: what expires from now on (expired: from now).
		cur = registry.ExpiryPos{At: now}
	}
	pos := registry.ExpiryPos{At: cur.At.Add(-s.cfg.Skew)}
	emitted := 0
	// done moves the cursor to until once everything up to it was read, so
	// that the next run starts there even when this one found nothing
	// (a clock that jumps, a first run, a quiet window).
	done := func() (int, error) {
		if end := (registry.ExpiryPos{At: until.Truncate(time.Millisecond)}); cur.Before(end) {
			cur = end
		}
		if err := s.cfg.Store.SetScanCursor(ctx, name, cur); err != nil {
			return emitted, fmt.Errorf("expiry: write cursor %s: %w", name, err)
		}
		return emitted, nil
	}
	for {
		batch, err := s.cfg.Store.ExpiringAfter(ctx, pos, until, s.cfg.Batch)
		if err != nil {
			return emitted, fmt.Errorf("expiry: read the expiry index: %w", err)
		}
		if len(batch) == 0 {
			return done()
		}
		if ok, err := s.cfg.Store.RenewLease(ctx, LeaseName, s.cfg.Holder, s.cfg.LeaseTTL); err != nil || !ok {
			return emitted, errors.Join(errLeaseLost, err)
		}
		for _, p := range batch {
			sent, err := s.one(ctx, now, p, lead, next)
			if err != nil {
				return emitted, err
			}
			if sent {
				emitted++
			}
			pos = p
			if pos.Before(cur) {
				continue // inside the skew: the cursor does not go back
			}
			cur = pos
		}
		if err := s.cfg.Store.SetScanCursor(ctx, name, cur); err != nil {
			return emitted, fmt.Errorf("expiry: write cursor %s: %w", name, err)
		}
		if len(batch) < s.cfg.Batch {
			return done()
		}
	}
}

// one emits the event of lead for the record at p if it is due and was not
// emitted before; it reports whether it emitted.
func (s *Scanner) one(ctx context.Context, now time.Time, p registry.ExpiryPos, lead, next time.Duration) (bool, error) {
	r, err := s.cfg.Store.GetRecord(ctx, p.ID)
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("expiry: read record: %w", err)
	}
	ev, due := Due(r, now, lead, next)
	if !due || !r.ExpiresAt.Truncate(time.Millisecond).Equal(p.At) {
		return false, nil // not due, or its expiry moved (it is indexed anew)
	}
	marked, err := s.cfg.Store.Marked(ctx, ev.ID)
	if err != nil {
		return false, fmt.Errorf("expiry: read sent mark: %w", err)
	}
	if marked {
		return false, nil
	}
	if err := s.cfg.Emitter.Emit(ctx, ev); err != nil {
		return false, fmt.Errorf("expiry: emit %s: %w", ev.Type, err)
	}
	// Kept a week past the expiry: by then the cursor is long past it.
	ttl := max(r.ExpiresAt.Sub(now), 0) + 7*24*time.Hour
	if err := s.cfg.Store.Mark(ctx, ev.ID, ttl); err != nil {
		// Emitted, not marked: a later run emits it again under the same
		// id, which the outbox drops as a duplicate.
		return true, fmt.Errorf("expiry: write sent mark: %w", err)
	}
	return true, nil
}

// Due returns the event that lead (0: token.expired) calls for on r at now
// and whether it is due: r is generated, not revoked, and
//   - token.expired: r's expiry has passed;
//   - token.expiring: r expires within lead but not yet, not within the
//     next shorter lead (next; that warning is sent instead), and r's
//     generation had more than lead to live (a 1-day token gets no 1-day
//     warning the moment it is generated).
func Due(r registry.Record, now time.Time, lead, next time.Duration) (notify.Event, bool) {
	if r.ExpiresAt == nil || r.GeneratedAt == nil || r.JTI == "" || r.Status == registry.StatusRevoked {
		return notify.Event{}, false
	}
	exp := *r.ExpiresAt
	if lead == 0 {
		if exp.After(now) {
			return notify.Event{}, false
		}
	} else {
		left := exp.Sub(now)
		if left <= 0 || left > lead || (next > 0 && left <= next) || exp.Sub(*r.GeneratedAt) <= lead {
			return notify.Event{}, false
		}
	}
	return Event(r, now, lead), true
}

// Event is the token.expiring event of r for lead (token.expired for 0),
// at now. Its id is derived from the record id, its generation (the time
// of its JWT, in Unix ms) and the lead: the same warning always has the
// same id.
func Event(r registry.Record, now time.Time, lead time.Duration) notify.Event {
	gen := strconv.FormatInt(r.GeneratedAt.UnixMilli(), 10)
	t := &notify.Token{
		ID: r.ID, Type: r.Type, Name: r.Name, Owner: r.Owner, ReportID: r.ReportID, AppID: r.AppID,
		Scopes: slices.Clone(r.Scopes), ExpiresAt: cloneTime(r.ExpiresAt), GeneratedAt: cloneTime(r.GeneratedAt),
	}
	if lead == 0 {
		return notify.Event{ID: "expired." + r.ID + "." + gen, Type: notify.TokenExpired, At: now, Owner: r.Owner, Token: t}
	}
	l := LeadString(lead)
	return notify.Event{
		ID: "expiring." + r.ID + "." + gen + "." + l, Type: notify.TokenExpiring, At: now, Owner: r.Owner, Token: t,
		Data: map[string]string{"lead": l},
	}
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
