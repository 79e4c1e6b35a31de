package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sigil-dev/sigil/internal/token"
)

// ErrStale is returned (wrapped with ErrUnavailable) by Replica.Check once
// the replica has not been confirmed in sync for longer than MaxStaleness:
// verification then fails closed.
var ErrStale = fmt.Errorf("revocation replica is stale: %w", ErrUnavailable)

// syncBatch is how many UUID entries Sync sorts and merges at once (24 MB;
// it fills a second batch while merging one, and needs as much scratch):
// fewer, larger batches move each shard's array fewer times.
var syncBatch = 1 << 20 // a variable for the tests

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	Store SyncStore
	// Leeway is the verifier's clock leeway (entries live until exp+leeway).
	Leeway time.Duration
	// MaxStaleness is how long verification goes on from the replica without
	// contact with the store; default 5m.
	MaxStaleness time.Duration
	// ResyncInterval is the period of full reloads; default 1m.
	ResyncInterval time.Duration
	// Heartbeat is the period of the store's epoch reads that confirm
	// freshness and catch a store that lost its data (then re-seeded at
	// once); default 1s.
	Heartbeat time.Duration
	// ReseedGrace is how long a replica that never synced waits, on a store
	// part of which lost its data (ErrEpochIncomplete), for an instance
	// that knew the epoch to re-seed it, before it claims the epoch itself
	// (no such instance is alive); meanwhile it is not loaded and
	// verification fails closed. Default 10s.
	ReseedGrace time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Replica holds the denylist and cutoffs of a shared store in memory so that
// checks cost no network trip (DESIGN §5). Writes go to the store first and
// are applied locally once it has taken them; other instances' writes arrive
// by subscription; full reloads on (re)connect and periodically close any gap.
// Entries only ever leave by expiry, so a reload merges rather than replaces.
type Replica struct {
	cfg ReplicaConfig

	mu sync.RWMutex
	// Denied ids → expiry in Unix ms (0 = never). jtis and record ids are
	// UUIDs, kept in a packed table of 16-byte ids (denytable.go, 24 bytes
	// an entry); other ids in a map of strings.
	deniedUUID *denyTable
	denied     map[string]int64
	cutoffs    map[string]map[string]int64 // dim → id → Unix ms (cutoffMilli)
	clientSub  map[[2]string]int64         // {client, sub} → Unix ms (cutoffMilli)
	clientRes  map[[3]string]int64         // {client, dim, resource id} → Unix ms (cutoffMilli)
	// cutGen counts the cutoff events applied (from 1): the cutoffs are
	// the same as long as it is, since only applyLocked writes them and
	// none is ever removed. Guarded by mu.
	cutGen uint64

	epoch     string
	lastFresh atomic.Int64 // Unix ns of the last confirmation of freshness
	connected atomic.Bool
	synced    atomic.Bool
	// syncPending is set on every (re)connect and by a failed Sync, and
	// cleared when a Sync starts: while it is set the heartbeat retries the
	// Sync instead of vouching for freshness, because events published while
	// the subscription was down (or a store that came back empty and needs
	// re-seeding) are only caught by a full Sync.
	syncPending atomic.Bool
	syncFailing atomic.Bool
	resync      chan struct{}
	// incompleteSince is when a replica that never synced first found the
	// store's epoch incomplete (zero: it has not); guarded by mu.
	incompleteSince time.Time
}

var _ token.Revocation = (*Replica)(nil)

// NewReplica returns an empty Replica; call Sync (or Run) before serving.
func NewReplica(cfg ReplicaConfig) *Replica {
	if cfg.MaxStaleness <= 0 {
		cfg.MaxStaleness = 5 * time.Minute
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = time.Minute
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.ReseedGrace <= 0 {
		cfg.ReseedGrace = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Replica{
		cfg:        cfg,
		denied:     make(map[string]int64),
		deniedUUID: newDenyTable(),
		cutoffs:    make(map[string]map[string]int64),
		clientSub:  make(map[[2]string]int64),
		clientRes:  make(map[[3]string]int64),
		cutGen:     1,
		resync:     make(chan struct{}, 1),
	}
}

// Check answers from memory: token.ErrRevoked if the token's jti or tid is
// denied or a cutoff covers it; ErrStale once the replica is too old to trust.
func (r *Replica) Check(_ context.Context, c *token.Claims) error {
	var ids replicaIDs // on the stack: Check keeps nothing
	ids.init(c)
	return r.check(c, &ids)
}

var _ token.MemoRevocation = (*Replica)(nil)

// CheckMemo is Check with the token's denylist ids parsed once (ParseUUID
// of its jti and tid) and kept in m, the memo of its verified-token cache
// entry: they depend on the claims alone, which never change for a cached
// token. The replica's freshness and the denylist are read on every call.
// The cutoffs are read unless none was applied since this token was last
// found under none (replicaIDs.notCutAt against cutGen, both read under
// the replica's lock): a cutoff applied after the token was cached, here
// or by another instance, still rejects it on its next use. A nil m is
// Check.
func (r *Replica) CheckMemo(_ context.Context, c *token.Claims, m *token.Memo) error {
	ids, ok := m.Load().(*replicaIDs)
	if !ok {
		ids = new(replicaIDs)
		ids.init(c)
		m.Store(ids)
	}
	return r.check(c, ids)
}

// replicaIDs are a token's denylist ids as the replica looks them up: the
// jti and the tid (a registered token's record id; hasTID false without
// one), each either packed (a UUID, ParseUUID) or kept as its string.
type replicaIDs struct {
	jti, tid         denyID
	hasTID           bool
	jtiText, tidText string
	// notCutAt is the replica's cutGen when the token was last found
	// under no cutoff (0: never): while cutGen is unchanged no cutoff was
	// added or moved, so the cutoff maps would answer the same, and they
	// are not read again. Any cutoff applied since (on this instance or
	// arriving from another) makes them read on the next check.
	notCutAt atomic.Uint64
}

// denyID is an id parsed for the packed table: u when isUUID.
type denyID struct {
	u      [16]byte
	isUUID bool
}

// init sets ids to c's denylist ids.
func (ids *replicaIDs) init(c *token.Claims) {
	ids.jtiText, ids.tidText, ids.hasTID = c.ID, c.TID, c.TID != ""
	ids.jti.u, ids.jti.isUUID = ParseUUID(c.ID)
	if ids.hasTID {
		ids.tid.u, ids.tid.isUUID = ParseUUID(c.TID)
	}
}

// check is Check on ids, the denylist ids of c (replicaIDs.init).
func (r *Replica) check(c *token.Claims, ids *replicaIDs) error {
	now := r.cfg.Now()
	if err := r.fresh(now); err != nil {
		return err
	}
	nowMs := now.UnixMilli()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.isDeniedID(ids.jti, ids.jtiText, nowMs) || (ids.hasTID && r.isDeniedID(ids.tid, ids.tidText, nowMs)) {
		return token.ErrRevoked
	}
	if ids.notCutAt.Load() == r.cutGen {
		return nil
	}
	if r.cut(c) {
		return token.ErrRevoked
	}
	ids.notCutAt.Store(r.cutGen)
	return nil
}

// cut reports whether a cutoff covers c; the caller holds the read lock.
func (r *Replica) cut(c *token.Claims) bool {
	if c.Subject != "" {
		if cutBy(c, r.cutoffs[DimSubject][c.Subject]) || cutBy(c, r.clientSub[[2]string{c.ClientID, c.Subject}]) {
			return true
		}
	}
	if cutBy(c, r.cutoffs[DimClient][c.ClientID]) ||
		cutBy(c, r.cutoffs[DimDashboard][c.DashboardID]) ||
		cutBy(c, r.cutoffs[DimApp][c.AppID]) ||
		cutBy(c, r.cutoffs[DimReport][c.ReportID]) {
		return true
	}
	return len(r.clientRes) > 0 && c.ClientID != "" && r.cutByClientResource(c)
}

// cutByClientResource reports whether a client-scoped resource cutoff
// covers c; the caller holds the read lock.
func (r *Replica) cutByClientResource(c *token.Claims) bool {
	switch {
	case c.DashboardID != "":
		return cutBy(c, r.clientRes[[3]string{c.ClientID, DimDashboard, c.DashboardID}])
	case c.AppID != "":
		return cutBy(c, r.clientRes[[3]string{c.ClientID, DimApp, c.AppID}])
	case c.ReportID != "":
		return cutBy(c, r.clientRes[[3]string{c.ClientID, DimReport, c.ReportID}])
	}
	return false
}

// isDeniedID reports whether an id is denied at nowMs: d is the id parsed
// (replicaIDs.init), text its string, looked up when it is not a UUID; the
// caller holds the read lock.
func (r *Replica) isDeniedID(d denyID, text string, nowMs int64) bool {
	var exp int64
	var ok bool
	if d.isUUID {
		exp, ok = r.deniedUUID.get(d.u)
	} else {
		exp, ok = r.denied[text]
	}
	return ok && (exp == 0 || exp > nowMs)
}

// ParseUUID reads the canonical 36-character form (either case) without
// allocating; anything else is not a UUID here and is kept as a string.
// The Redis side reads its index members with it too, so both agree on
// which ids are packed.
func ParseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

// formatUUID is the canonical lower-case text of u (uuid.UUID.String).
func formatUUID(u [16]byte) string { return uuid.UUID(u).String() }

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// fresh fails closed once the replica has gone unconfirmed past MaxStaleness.
func (r *Replica) fresh(now time.Time) error {
	if !r.synced.Load() {
		return fmt.Errorf("revocation replica not loaded yet: %w", ErrUnavailable)
	}
	if now.Sub(time.Unix(0, r.lastFresh.Load())) > r.cfg.MaxStaleness {
		return ErrStale
	}
	return nil
}

// Staleness is how long ago the replica was last confirmed in sync.
func (r *Replica) Staleness() time.Duration {
	if !r.synced.Load() {
		return -1
	}
	return r.cfg.Now().Sub(time.Unix(0, r.lastFresh.Load()))
}

// Degraded reports whether the replica is serving without a live subscription.
func (r *Replica) Degraded() bool { return !r.connected.Load() }

// Size returns the number of denylist entries and cutoffs held.
func (r *Replica) Size() (denied, cutoffs int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := len(r.clientSub) + len(r.clientRes)
	for _, m := range r.cutoffs {
		n += len(m)
	}
	return len(r.denied) + r.deniedUUID.len(), n
}

// Revoke writes the token's denial to the store (which broadcasts it) and,
// once the store has taken it, applies it locally so this instance honours
// it before answering.
func (r *Replica) Revoke(ctx context.Context, c *token.Claims) error {
	until, live := denyUntil(c, r.cfg.Leeway, r.cfg.Now())
	if !live {
		return nil
	}
	if err := r.cfg.Store.Deny(ctx, c.ID, until); err != nil {
		return fmt.Errorf("revoke token %s: %w", c.ID, err)
	}
	r.apply(Event{Key: c.ID, At: until})
	return nil
}

// RevokeOnce revokes the token like Revoke, but reports first=true only to
// the one caller that revoked it: a token already revoked (or dead) gives
// first=false. It is how a token is exchanged exactly once (refresh).
func (r *Replica) RevokeOnce(ctx context.Context, c *token.Claims) (bool, error) {
	until, live := denyUntil(c, r.cfg.Leeway, r.cfg.Now())
	if !live {
		return false, nil
	}
	first, err := r.cfg.Store.DenyOnce(ctx, c.ID, until)
	if err != nil {
		return false, fmt.Errorf("revoke token %s once: %w", c.ID, err)
	}
	r.apply(Event{Key: c.ID, At: until})
	return first, nil
}

// RevokeAll writes a cutoff at now (to the millisecond, cutoffAt) to the
// store, then applies it locally.
func (r *Replica) RevokeAll(ctx context.Context, cut Cutoff) (time.Time, error) {
	at := cutoffAt(r.cfg.Now())
	if err := r.cfg.Store.SetCutoff(ctx, cut.Key(), at); err != nil {
		return time.Time{}, fmt.Errorf("revoke all of %s: %w", cut.Dim, err)
	}
	r.apply(Event{Cutoff: true, Key: cut.Key(), At: at})
	return at, nil
}

// Ping reports whether the store is reachable.
func (r *Replica) Ping(ctx context.Context) error { return r.cfg.Store.Ping(ctx) }

// apply merges one event, keeping the later expiry or cutoff.
func (r *Replica) apply(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applyLocked(ev)
}

func (r *Replica) applyLocked(ev Event) {
	if !ev.Cutoff {
		exp := int64(0)
		if !ev.At.IsZero() {
			exp = ev.At.UnixMilli()
		}
		if u, isUUID := ParseUUID(ev.Key); isUUID {
			r.deniedUUID.merge(u, exp)
			return
		}
		if old, ok := r.denied[ev.Key]; !ok || (old != 0 && (exp == 0 || exp > old)) {
			r.denied[ev.Key] = exp
		}
		return
	}
	cut, ok := ParseCutoffKey(ev.Key)
	if !ok {
		return
	}
	r.cutGen++ // before any map changes: checks remembered under the old count read them again
	at := cutoffMilli(ev.At)
	if cut.Dim == DimClientSubject {
		client, sub, _ := strings.Cut(cut.ID, clientSubjectSep)
		k := [2]string{client, sub}
		r.clientSub[k] = max(r.clientSub[k], at)
		return
	}
	if cut.Dim == DimClientResource {
		client, dim, id, _ := splitClientResource(cut.ID)
		k := [3]string{client, dim, id}
		r.clientRes[k] = max(r.clientRes[k], at)
		return
	}
	m := r.cutoffs[cut.Dim]
	if m == nil {
		m = make(map[string]int64)
		r.cutoffs[cut.Dim] = m
	}
	m[cut.ID] = max(m[cut.ID], at)
}

// Sync loads the whole store into the replica. If the store lost its data
// (its epoch is gone or changed), it first writes the replica's entries
// back, so no revocation is lost while any instance is alive.
func (r *Replica) Sync(ctx context.Context) (err error) {
	started := r.cfg.Now()
	// Cleared first so that a reconnect during this Sync sets it again.
	r.syncPending.Store(false)
	defer func() {
		if err != nil {
			r.syncPending.Store(true)
		}
	}()
	epoch, err := r.cfg.Store.Epoch(ctx)
	incomplete := errors.Is(err, ErrEpochIncomplete)
	if err != nil && !incomplete {
		return fmt.Errorf("replica sync: %w", err)
	}
	r.mu.RLock()
	known := r.epoch
	r.mu.RUnlock()
	if incomplete || epoch == "" || (known != "" && epoch != known) {
		switch {
		case known != "":
			if err := r.reseed(ctx); err != nil {
				return err
			}
		case incomplete:
			// A master lost its data and this replica never loaded the
			// store: what the store holds is missing entries that only the
			// instances that loaded it before can give back. Trusting it now
			// would accept tokens revoked there; wait for them to re-seed.
			if err := r.awaitReseed(started); err != nil {
				return err
			}
			r.cfg.Logger.Warn("revocation store lost part of its data and no instance re-seeded it within the grace period; claiming its epoch (revocations only that part held are lost)",
				slog.Duration("reseed_grace", r.cfg.ReseedGrace))
		}
		if epoch, err = r.cfg.Store.InitEpoch(ctx, uuid.NewString()); err != nil {
			return fmt.Errorf("replica sync: %w", err)
		}
	}
	// Entries are applied as the scan streams them, UUIDs in batches of up
	// to syncBatch (sorted, then merged once per shard: merging them one by
	// one would move each shard's array for every few entries); the merge
	// keeps the later expiry, so concurrent events are safe.
	// A full batch is merged in the background while the scan fills the
	// other one (the merge is CPU, the scan mostly waits on Redis); one
	// merge at a time, since they share the scratch. The two batches and
	// the scratch live outside the heap where the platform allows
	// (allocEntries), mapped at the first UUID and unmapped when Sync
	// returns, after the last merge: 72 MB the collector would otherwise
	// keep for a while.
	var bufs [2][]denyEntry
	var arenas [3][]byte
	var batch, scratch []denyEntry
	cur := 0
	var merging chan struct{} // closed when the running merge is done; nil if none
	wait := func() {
		if merging != nil {
			<-merging
			merging = nil
		}
	}
	defer func() {
		wait()
		for _, a := range arenas {
			freeArena(a)
		}
	}()
	flush := func() {
		wait()
		if len(batch) == 0 {
			return
		}
		full, done := batch, make(chan struct{})
		merging = done
		go func() {
			defer close(done)
			r.deniedUUID.mergeBatch(full, scratch, r.mu.Lock, r.mu.Unlock)
		}()
		cur ^= 1
		batch = bufs[cur][:0]
	}
	addUUID := func(u [16]byte, ms int64) {
		if batch == nil {
			bufs[0], arenas[0] = allocEntries(syncBatch)
			bufs[1], arenas[1] = allocEntries(syncBatch)
			scratch, arenas[2] = allocEntries(syncBatch)
			scratch = scratch[:cap(scratch)]
			batch = bufs[cur]
		}
		if batch = append(batch, denyEntry{id: u, exp: ms}); len(batch) == syncBatch {
			flush()
		}
	}
	if err := r.migrate(ctx); err != nil {
		return fmt.Errorf("replica sync: %w", err)
	}
	var scanErr error
	if bs, ok := r.cfg.Store.(bulkDenyScanner); ok {
		scanErr = bs.ScanDeniedBulk(ctx, addUUID, func(id string, ms int64) {
			var at time.Time
			if ms != 0 {
				at = time.UnixMilli(ms)
			}
			r.apply(Event{Key: id, At: at})
		})
	} else {
		scanErr = r.cfg.Store.ScanDenied(ctx, func(id string, exp time.Time) {
			u, isUUID := ParseUUID(id)
			if !isUUID {
				r.apply(Event{Key: id, At: exp})
				return
			}
			var ms int64
			if !exp.IsZero() {
				ms = exp.UnixMilli()
			}
			addUUID(u, ms)
		})
	}
	if scanErr != nil {
		return fmt.Errorf("replica sync: %w", scanErr)
	}
	flush()
	wait()
	if err := r.cfg.Store.ScanCutoffs(ctx, func(key string, at time.Time) {
		r.apply(Event{Cutoff: true, Key: key, At: at})
	}); err != nil {
		return fmt.Errorf("replica sync: %w", err)
	}
	r.mu.Lock()
	r.epoch = epoch
	r.mu.Unlock()
	r.lastFresh.Store(started.UnixNano())
	r.synced.Store(true)
	return nil
}

// bulkDenyScanner is a SyncStore that reads the denylist in bulk: UUID ids
// as their 16 bytes and expiries in Unix ms (0 = never), no string or
// time per entry (the Redis store's indexed layout); Sync prefers it.
type bulkDenyScanner interface {
	ScanDeniedBulk(ctx context.Context, uuid func(id [16]byte, expMs int64), other func(id string, expMs int64)) error
}

// denylistMigrator is a SyncStore whose stored denylist may be of an older
// layout, brought up to date before a load (the Redis store: its index).
type denylistMigrator interface {
	MigrateDenylist(ctx context.Context) (int, error)
}

// migrate brings the store's denylist layout up to date (once; later
// calls cost one read) and logs it when it did anything.
func (r *Replica) migrate(ctx context.Context) error {
	m, ok := r.cfg.Store.(denylistMigrator)
	if !ok {
		return nil
	}
	start := time.Now()
	n, err := m.MigrateDenylist(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		r.cfg.Logger.Info("revocation denylist indexed for bulk loading (key layout 2)",
			slog.Int("entries", n), slog.Duration("duration", time.Since(start)))
	}
	return nil
}

// errAwaitReseed is Sync's error while a replica that never loaded waits
// for an emptied part of the store to be re-seeded.
var errAwaitReseed = fmt.Errorf("revocation store lost part of its data; waiting for an instance that knew it to re-seed it: %w", ErrUnavailable)

// awaitReseed returns errAwaitReseed until ReseedGrace has passed since
// this never-loaded replica first found the store's epoch incomplete.
func (r *Replica) awaitReseed(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.incompleteSince.IsZero() {
		r.incompleteSince = now
	}
	if now.Sub(r.incompleteSince) < r.cfg.ReseedGrace {
		return errAwaitReseed
	}
	return nil
}

// reseed writes every live entry of the replica back to an emptied store.
func (r *Replica) reseed(ctx context.Context) error {
	nowMs := r.cfg.Now().UnixMilli()
	var events []Event
	r.mu.RLock()
	for id, exp := range r.denied {
		switch {
		case exp == 0:
			events = append(events, Event{Key: id})
		case exp > nowMs:
			events = append(events, Event{Key: id, At: time.UnixMilli(exp)})
		}
	}
	r.deniedUUID.each(func(u [16]byte, exp int64) {
		id := formatUUID(u)
		switch {
		case exp == 0:
			events = append(events, Event{Key: id})
		case exp > nowMs:
			events = append(events, Event{Key: id, At: time.UnixMilli(exp)})
		}
	})
	for dim, m := range r.cutoffs {
		for id, at := range m {
			events = append(events, Event{Cutoff: true, Key: Cutoff{dim, id}.Key(), At: time.UnixMilli(at)})
		}
	}
	for k, at := range r.clientSub {
		events = append(events, Event{Cutoff: true, Key: ClientSubject(k[0], k[1]).Key(), At: time.UnixMilli(at)})
	}
	for k, at := range r.clientRes {
		events = append(events, Event{Cutoff: true, Key: ClientResource(k[0], Cutoff{k[1], k[2]}).Key(), At: time.UnixMilli(at)})
	}
	r.mu.RUnlock()
	r.cfg.Logger.Warn("revocation store came back empty: re-seeding it from this instance's replica",
		slog.Int("entries", len(events)))
	for _, ev := range events {
		var err error
		if ev.Cutoff {
			err = r.cfg.Store.SetCutoff(ctx, ev.Key, ev.At)
		} else {
			err = r.cfg.Store.Deny(ctx, ev.Key, ev.At)
		}
		if err != nil {
			return fmt.Errorf("re-seed revocation store: %w", err)
		}
	}
	return nil
}

// Prune drops entries that expired before now.
func (r *Replica) Prune(now time.Time) int {
	nowMs := now.UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, exp := range r.denied {
		if exp != 0 && exp <= nowMs {
			delete(r.denied, id)
			n++
		}
	}
	return n + r.deniedUUID.prune(nowMs)
}

// Run keeps the replica in sync until ctx ends: it subscribes to the
// store's events, reloads on every (re)connect and every ResyncInterval,
// pings every Heartbeat to confirm freshness, and prunes expired entries.
func (r *Replica) Run(ctx context.Context) {
	go r.cfg.Store.Subscribe(ctx, r.apply,
		func() {
			r.syncPending.Store(true)
			r.connected.Store(true)
			r.requestResync()
			// Once more a little later: around a failover an event can be
			// sent just after this resync to a node that is not (yet)
			// passing it on (a cluster node joining the bus, a master
			// being demoted), and nothing else would load it before the
			// next ResyncInterval.
			time.AfterFunc(reconnectResync, r.requestResync)
		},
		func(err error) {
			if r.connected.Swap(false) {
				r.cfg.Logger.Warn("revocation subscription lost; serving from the replica", slog.String("err", err.Error()))
			}
		})
	heartbeat := time.NewTicker(r.cfg.Heartbeat)
	defer heartbeat.Stop()
	resync := time.NewTicker(r.cfg.ResyncInterval)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.resync:
			r.syncLogged(ctx)
		case <-resync.C:
			r.syncLogged(ctx)
			r.Prune(r.cfg.Now())
		case <-heartbeat.C:
			// A live subscription plus a reachable store means no event can
			// have been missed since the last reload.
			if r.syncPending.Load() {
				// The Sync after a reconnect failed (go-redis may still be
				// answering with its last dial error): retry now rather
				// than at the next ResyncInterval.
				r.syncLogged(ctx)
				continue
			}
			start := r.cfg.Now()
			if !r.connected.Load() || !r.synced.Load() {
				continue
			}
			// Reading the epoch confirms the store answers and still holds
			// what it held: an emptied store (a cluster master that came
			// back empty, whose loss no reconnect of ours reveals) is
			// re-seeded now, not at the next ResyncInterval.
			epoch, err := r.cfg.Store.Epoch(ctx)
			r.mu.RLock()
			same := err == nil && epoch == r.epoch
			r.mu.RUnlock()
			switch {
			case same:
				r.lastFresh.Store(start.UnixNano())
			case err == nil || errors.Is(err, ErrEpochIncomplete):
				r.syncLogged(ctx)
			}
		}
	}
}

// reconnectResync is when the second full reload after a (re)subscription runs.
const reconnectResync = 2 * time.Second

func (r *Replica) requestResync() {
	select {
	case r.resync <- struct{}{}:
	default:
	}
}

// syncLogged runs a Sync and logs the first failure of a run of failures
// and the recovery, so an outage with retries every heartbeat logs twice.
func (r *Replica) syncLogged(ctx context.Context) {
	err := r.Sync(ctx)
	switch {
	case err == nil:
		if r.syncFailing.Swap(false) {
			r.cfg.Logger.Info("revocation replica synced again")
		}
	case errors.Is(err, context.Canceled):
	case !r.syncFailing.Swap(true):
		r.cfg.Logger.Warn("revocation replica sync failed; retrying every heartbeat", slog.String("err", err.Error()))
	}
}
