package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/ident"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/token"
)

// Issuer mints signed tokens; token.Issuer satisfies it. MintUntil gives
// the token exactly expiresAt (whole seconds) as exp, none when nil.
type Issuer interface {
	MintUntil(c token.Claims, expiresAt *time.Time) (string, *token.Claims, error)
}

// Revoker puts ids on the revocation denylist; revocation.Service and
// revocation.Replica satisfy it. Revoke denies c.ID until c's exp (plus the
// verifier's leeway; forever without exp) and returns only once the entry is
// written. The registry denies a record id (the tid of every generation) the
// same way, with a Claims whose ID is the record id.
type Revoker interface {
	Revoke(ctx context.Context, c *token.Claims) error
}

// Limits of record fields.
const (
	MaxNameLen = 200
	MaxIDLen   = 200
	// MaxListAll bounds ListForReport and ListForApp, which return one list.
	MaxListAll = 1000
	// hintLen is how many trailing characters of a JWT TokenHint keeps.
	hintLen = 6
	// cleanupBatch is how many expired ids Cleanup reads at a time.
	cleanupBatch = 500
)

// DefaultScopes returns the scopes API tokens may carry when none are
// configured, with their labels.
func DefaultScopes() map[string]string {
	return map[string]string{"meta:read": "Meta Record", "report:read": "Report Record"}
}

// ExpiresIn presets (Envizi): how long a new token lives.
var expiresInPresets = map[string]time.Duration{
	"1d":  24 * time.Hour,
	"7d":  7 * 24 * time.Hour,
	"30d": 30 * 24 * time.Hour,
	"60d": 60 * 24 * time.Hour,
	"90d": 90 * 24 * time.Hour,
	"1y":  365 * 24 * time.Hour,
}

// ExpiresNever is the ExpiresIn preset of a token that never expires.
const ExpiresNever = "never"

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store   Store
	Issuer  Issuer
	Revoker Revoker
	// Scopes maps each scope API tokens may carry to its label; nil means DefaultScopes.
	Scopes map[string]string
	// Sealer is the AES key (16, 24 or 32 bytes) that seals JWTs at rest so
	// that they can be revealed later (registry.reveal_tokens); nil keeps no JWT.
	Sealer []byte
	// Now is the clock (default time.Now); read once per operation, UTC, whole seconds.
	Now func() time.Time
	// NewID mints record ids (default uuid.NewString).
	NewID func() string
	// Logger receives failures that do not fail the operation (a log entry
	// that could not be written); nil discards them.
	Logger *slog.Logger
	// Retention is how long a revoked or expired record stays, readable
	// with its log, before Cleanup removes both (registry.retention);
	// zero means LogRetention.
	Retention time.Duration
	// Events receives the notification events of each change (#15),
	// written before the change: a failure to write them fails the
	// operation with nothing changed. Nil emits nothing.
	Events notify.Emitter
}

// Service manages registered token records on behalf of API callers. It is
// safe for concurrent use. Update and Generate each read a record and write
// it back only if its generation (jti) is still the one they read
// (Store.UpdateRecordIf, a compare-and-swap), retrying from the new record
// otherwise: so exactly one JWT per record is live and an update never
// brings back an older generation. Every generation also carries the
// record id as tid, which Delete denies.
type Service struct {
	store   Store
	issuer  Issuer
	revoker Revoker
	scopes  map[string]string
	sealer  *sealer
	now     func() time.Time
	newID   func() string
	log     *slog.Logger
	// retention: see ServiceConfig.Retention.
	retention time.Duration
	events    notify.Emitter
}

// NewService returns a Service; it fails on a missing Store, Issuer or
// Revoker and on a Sealer key that is not an AES key.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil || cfg.Issuer == nil || cfg.Revoker == nil {
		return nil, errors.New("registry: Store, Issuer and Revoker are required")
	}
	s := &Service{
		store: cfg.Store, issuer: cfg.Issuer, revoker: cfg.Revoker,
		scopes: maps.Clone(cfg.Scopes), now: cfg.Now, newID: cfg.NewID, log: cfg.Logger,
		retention: cfg.Retention, events: cfg.Events,
	}
	if s.retention <= 0 {
		s.retention = LogRetention
	}
	if len(s.scopes) == 0 {
		s.scopes = DefaultScopes()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Sealer != nil {
		sl, err := newSealer(cfg.Sealer)
		if err != nil {
			return nil, err
		}
		s.sealer = sl
	}
	return s, nil
}

// Scopes returns the configured scopes and their labels.
func (s *Service) Scopes() map[string]string { return maps.Clone(s.scopes) }

// RevealEnabled reports whether JWTs are sealed at rest and can be revealed.
func (s *Service) RevealEnabled() bool { return s.sealer != nil }

// Caller is who acts on records, and on embed tokens (embed.Caller is
// this type): an authenticated API client.
type Caller struct {
	ID    string
	Admin bool
	// Allows reports whether the caller may act on a resource
	// ("report:<id>", "app:<id>", "api:<owner>"); nil allows nothing.
	// Admins are allowed everything.
	Allows func(resource string) bool
	// Owner is set for a console caller (a console token for that owner,
	// minted by client ID): it acts on that owner's API tokens only
	// (Allows says "api:<Owner>" and nothing else, and Admin is false);
	// Create defaults to it and an unfiltered List lists them. Log entries
	// name the owner as who acted.
	Owner string
}

// actor is who a log entry names: the owner behind a console caller, else
// the client.
func (c Caller) actor() string {
	if c.Owner != "" {
		return c.Owner
	}
	return c.ID
}

// CanActOn reports whether the caller may act on resource: an admin, or a
// client whose Allows says so.
func (c Caller) CanActOn(resource string) bool {
	return c.Admin || (c.Allows != nil && c.Allows(resource))
}

// owns reports whether the caller may see and manage r: an admin, or the
// client that created it while r's resource is still among its resources.
// A matching resource pattern alone is not enough: two tenants of one
// deployment (a cloud) may both hold report:*, and neither may touch the
// other's tokens.
func (c Caller) owns(r Record) bool {
	return c.Admin || (c.ID != "" && r.CreatedBy == c.ID && c.CanActOn(r.Resource()))
}

// clock reads the clock once, in UTC, truncated to the second.
// clock keeps milliseconds: records created within one second still list
// newest first.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// bindingField is the request field that binds a token of kind to a resource.
func bindingField(kind string) string {
	switch kind {
	case token.KindReport:
		return "reportId"
	case token.KindAppView:
		return "appId"
	}
	return "owner"
}

// errNotFound is what a caller gets for a missing record and for one it may
// not see alike (404, never 403).
func errNotFound(cause error) error {
	if cause == nil {
		cause = ErrNotFound
	}
	return &apperr.Error{Code: apperr.CodeNotFound, Message: "token not found", Err: cause}
}

// errNameTaken is the 409 of a name the owner already uses.
func errNameTaken(cause error) error {
	return &apperr.Error{Code: apperr.CodeConflict, Field: "name", Message: "the owner already has an API token with this name (names are compared ignoring case, width and compatibility forms; revoking a token frees its name)", Err: cause}
}

// CreateInput is the input of Create (POST /api/tokens).
type CreateInput struct {
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Owner    string   `json:"owner"`
	ReportID string   `json:"reportId"`
	AppID    string   `json:"appId"`
	Scopes   []string `json:"scopes"`
	ReadOnly *bool    `json:"readOnly"`
	// ExpiresAt and ExpiresIn (a preset: 1d 7d 30d 60d 90d 1y never) are
	// exclusive; with neither the token never expires.
	ExpiresAt *time.Time `json:"expiresAt"`
	ExpiresIn string     `json:"expiresIn"`
	// Generate mints the JWT at once (default true).
	Generate *bool `json:"generate"`
	// UniqueName makes a report or app-view token's name unique among its
	// owner's (409 naming name otherwise), as an API token's always is:
	// what lets concurrent creators agree on one token (cloud publishing).
	UniqueName bool `json:"uniqueName"`
	// Cloud and URL mark a token published to the cloud deployment; set by
	// the server, never decoded from a request.
	Cloud bool   `json:"-"`
	URL   string `json:"-"`
}

// validate checks in against the configuration and fills defaults (the
// owner of report and app-view tokens is the caller). Errors are
// *apperr.Error naming the field.
//
// It returns the absolute expiry (expiresAt) or the preset's duration
// (preset, counted from each generation), at most one of them; neither for
// a token that never expires.
func (s *Service) validate(in *CreateInput, caller Caller, now time.Time) (expiresAt *time.Time, preset time.Duration, err error) {
	switch in.Type {
	case token.KindReport:
		if in.ReportID == "" {
			return nil, 0, apperr.Invalid("reportId", "a report token needs a reportId")
		}
		if in.AppID != "" {
			return nil, 0, apperr.Invalid("appId", "only app-view tokens have an appId")
		}
	case token.KindAppView:
		if in.AppID == "" {
			return nil, 0, apperr.Invalid("appId", "an app-view token needs an appId")
		}
		if in.ReportID != "" {
			return nil, 0, apperr.Invalid("reportId", "only report tokens have a reportId")
		}
	case token.KindAPI:
		if in.ReportID != "" {
			return nil, 0, apperr.Invalid("reportId", "only report tokens have a reportId")
		}
		if in.AppID != "" {
			return nil, 0, apperr.Invalid("appId", "only app-view tokens have an appId")
		}
		if in.Owner == "" {
			return nil, 0, apperr.Invalid("owner", "an API token needs an owner")
		}
		if len(in.Scopes) == 0 {
			return nil, 0, apperr.Invalid("scopes", "an API token needs at least one scope")
		}
	default:
		return nil, 0, apperr.Invalid("type", "must be one of %s, %s, %s", token.KindReport, token.KindAppView, token.KindAPI)
	}
	// Report and app ids take the form revoke-all and client resources take
	// (ident), so that every registered token can be cut off by its resource
	// and no id reads as a glob (*), a dot segment (..) or a path.
	if in.ReportID != "" && !ident.Valid(in.ReportID) {
		return nil, 0, apperr.Invalid("reportId", ident.Rule)
	}
	if err := checkText("reportId", in.ReportID, MaxIDLen); err != nil {
		return nil, 0, err
	}
	if in.AppID != "" && !ident.Valid(in.AppID) {
		return nil, 0, apperr.Invalid("appId", ident.Rule)
	}
	if err := checkText("appId", in.AppID, MaxIDLen); err != nil {
		return nil, 0, err
	}
	if in.Owner == "" {
		in.Owner = caller.ID
	}
	if in.Owner == "" {
		return nil, 0, apperr.Invalid("owner", "an owner is required")
	}
	if err := checkText("owner", in.Owner, MaxIDLen); err != nil {
		return nil, 0, err
	}
	if err := checkName("name", in.Name, MaxNameLen); err != nil {
		return nil, 0, err
	}
	if in.Type != token.KindAPI && len(in.Scopes) > 0 {
		return nil, 0, errScopesAPIOnly()
	}
	scopes, err := s.checkScopes(in.Scopes)
	if err != nil {
		return nil, 0, err
	}
	in.Scopes = scopes
	switch {
	case in.ExpiresAt != nil && in.ExpiresIn != "":
		return nil, 0, apperr.Invalid("expiresIn", "give expiresAt or expiresIn, not both")
	case in.ExpiresAt != nil:
		at := in.ExpiresAt.UTC().Truncate(time.Second)
		if !at.After(now) {
			return nil, 0, apperr.Invalid("expiresAt", "must be in the future")
		}
		if at.After(now.AddDate(MaxExpiryYears, 0, 0)) {
			// Past it a time no longer fits where expiries go (a Redis TTL,
			// JSON's four-digit year): omitting expiresAt says "never".
			return nil, 0, apperr.Invalid("expiresAt", "must be within %d years; omit it for a token that never expires", MaxExpiryYears)
		}
		return &at, 0, nil
	case in.ExpiresIn == "" || in.ExpiresIn == ExpiresNever:
		return nil, 0, nil
	}
	d, ok := expiresInPresets[in.ExpiresIn]
	if !ok {
		return nil, 0, apperr.Invalid("expiresIn", "must be one of 1d 7d 30d 60d 90d 1y never")
	}
	return nil, d, nil
}

// presetExpiry is the expiry of a generation at now of a record created
// with preset: whole seconds, like exp, so that the record and its JWT say
// the same instant.
func presetExpiry(now time.Time, preset time.Duration) *time.Time {
	at := now.Add(preset).Truncate(time.Second)
	return &at
}

// errScopesAPIOnly refuses scopes on a report or app-view token: a share
// link grants its one resource, read-only, and nothing a scope would add.
func errScopesAPIOnly() error {
	return apperr.Invalid("scopes", "only API tokens carry scopes")
}

// checkScopes returns scopes without duplicates, in their first order, or
// an error naming "scopes" if one is not configured.
func (s *Service) checkScopes(scopes []string) ([]string, error) {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if _, ok := s.scopes[sc]; !ok {
			known := slices.Sorted(maps.Keys(s.scopes))
			return nil, apperr.Invalid("scopes", "unknown scope %q (configured: %s)", truncate(sc, 64), strings.Join(known, ", "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkText rejects a value longer than max characters or holding control characters.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return apperr.Invalid(field, "must be at most %d characters of valid UTF-8", max)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return apperr.Invalid(field, "must not contain control characters")
	}
	// owner, reportId and appId reach upstreams in X-Sigil-* headers, byte
	// for byte; the name is held to the same rule.
	return token.CheckHeaderSafe(field, v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Create validates in, checks that the caller may act on the token's
// resource (a not-found error otherwise, as for a missing record) and that
// an API token's owner holds the api-tokens role, stores the record and,
// unless in.Generate is false, mints its first JWT, which is returned this
// once. It logs CREATE (and GENERATE) by the caller.
func (s *Service) Create(ctx context.Context, caller Caller, in CreateInput) (Record, string, error) {
	now := s.clock()
	if caller.Owner != "" {
		// A console caller: its owner's API tokens (any other type or
		// owner is refused below as out of its reach).
		if in.Type == "" {
			in.Type = token.KindAPI
		}
		if in.Owner == "" {
			in.Owner = caller.Owner
		}
	}
	expiresAt, preset, err := s.validate(&in, caller, now)
	if err != nil {
		return Record{}, "", err
	}
	id := s.newID()
	r := Record{
		ID: id, Type: in.Type, Name: in.Name, Owner: in.Owner,
		ReportID: in.ReportID, AppID: in.AppID, Scopes: in.Scopes,
		ReadOnly: in.ReadOnly != nil && *in.ReadOnly, Cloud: in.Cloud, URL: in.URL,
		Status: StatusNotGenerated, CreatedAt: now, ExpiresAt: expiresAt, CreatedBy: caller.ID,
		UniqueName: in.UniqueName && in.Type != token.KindAPI,
	}
	if preset > 0 || in.ExpiresIn == ExpiresNever {
		r.ExpiresIn = in.ExpiresIn
	}
	if r.Type == token.KindAppView {
		r.ReadOnly = true
	}
	if r.Name == "" {
		r.Name = r.Type + "-" + shortID(id)
	}
	if !caller.CanActOn(r.Resource()) {
		// The binding is the caller's own namespace, not someone's token:
		// saying it is out of bounds reveals nothing and helps the caller.
		return Record{}, "", &apperr.Error{Code: apperr.CodeForbidden, Field: bindingField(r.Type),
			Message: "this client may not create tokens for " + r.Resource()}
	}
	if err := s.checkRole(ctx, r); err != nil {
		return Record{}, "", err
	}
	logs := []RecordLog{{RecordID: id, Entry: LogEntry{Activity: ActivityCreate, At: now, By: caller.actor(), Result: ResultOK}}}
	var jwt string
	if in.Generate == nil || *in.Generate {
		// Minted before the record is stored, so that one write stores both;
		// if the write fails the JWT is dropped unseen.
		if preset > 0 {
			r.ExpiresAt = presetExpiry(now, preset)
		}
		jwt, err = s.mint(&r, caller, now)
		if err != nil {
			return Record{}, "", err
		}
		logs = append(logs, RecordLog{RecordID: id, Entry: LogEntry{Activity: ActivityGenerate, At: now, By: caller.actor(), Result: ResultOK}})
	}
	events := []notify.Event{createdEvent(r, caller.actor(), now)}
	if jwt != "" {
		events = append(events, generatedEvent(r, caller.actor(), "c", now))
	}
	if err := s.emit(ctx, events...); err != nil {
		return Record{}, "", err
	}
	if err := s.store.CreateRecord(ctx, r); err != nil {
		if errors.Is(err, ErrNameTaken) {
			return Record{}, "", errNameTaken(err)
		}
		return Record{}, "", fmt.Errorf("create token: %w", err)
	}
	s.appendLogs(ctx, logs)
	return s.present(r, now), jwt, nil
}

// checkRole requires the owner of an API token to hold the api-tokens role
// (a forbidden error naming "owner" otherwise); other kinds need none.
func (s *Service) checkRole(ctx context.Context, r Record) error {
	if r.Type != token.KindAPI {
		return nil
	}
	ok, err := s.store.HasRole(ctx, r.Owner, RoleAPITokens)
	if err != nil {
		return fmt.Errorf("check role of %s: %w", r.Owner, err)
	}
	if !ok {
		return &apperr.Error{Code: apperr.CodeForbidden, Field: "owner",
			Message: "the owner does not hold the " + RoleAPITokens + " role"}
	}
	return nil
}

// shortID is the first 8 characters of an id, for default names.
func shortID(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// mint signs a new JWT for r and records its generation on r: GeneratedAt,
// status generated-inactive, JTI, TokenHint and, with reveal on, the sealed
// JWT. The token's exp is r.ExpiresAt (none for a token that never expires).
func (s *Service) mint(r *Record, caller Caller, now time.Time) (string, error) {
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		return "", &apperr.Error{Code: apperr.CodeConflict, Field: "expiresAt", Message: "the token has expired"}
	}
	// client_id is the record's manager, whoever generates: its client and
	// resource cutoffs (revoke-all) cover every generation.
	clientID := r.CreatedBy
	if clientID == "" {
		clientID = caller.ID
	}
	c := token.Claims{
		Kind: r.Type, TID: r.ID, ReportID: r.ReportID, AppID: r.AppID,
		ReadOnly: r.ReadOnly, ClientID: clientID,
	}
	if r.Type == token.KindAPI {
		c.Subject = r.Owner
		// Only API tokens carry scopes (a record from before that rule
		// keeps its list, but its JWTs do not).
		c.Scope = strings.Join(r.Scopes, " ")
	}
	jwt, claims, err := s.issuer.MintUntil(c, r.ExpiresAt)
	if err != nil {
		return "", fmt.Errorf("mint token for record %s: %w", r.ID, err)
	}
	sealed, err := s.seal(jwt, r.ID)
	if err != nil {
		return "", err
	}
	at := now
	r.GeneratedAt = &at
	r.Status = StatusGeneratedInactive
	r.JTI = claims.ID
	r.TokenHint = jwt[max(len(jwt)-hintLen, 0):]
	r.Sealed = sealed
	return jwt, nil
}

// appendLogs writes entries; a failure is logged, not returned: the change
// it records has happened.
func (s *Service) appendLogs(ctx context.Context, entries []RecordLog) {
	if err := s.store.AppendLogs(ctx, entries); err != nil {
		s.log.WarnContext(ctx, "registry: log entries lost", "record", entries[0].RecordID, "activity", entries[0].Entry.Activity, "err", err)
	}
}

// present returns r as callers see it: the status is expired once ExpiresAt
// has passed (the janitor removes such records later).
func (s *Service) present(r Record, now time.Time) Record {
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) && r.Status != StatusRevoked {
		r.Status = StatusExpired
	}
	return r
}

// load returns the record id if the caller may see it, else the not-found
// error that a missing record gives.
func (s *Service) load(ctx context.Context, caller Caller, id string) (Record, error) {
	if !recordID.MatchString(id) {
		// No record has this id (a JWT pasted as one, say): not looked up,
		// and not carried in the error, which may be logged.
		return Record{}, errNotFound(nil)
	}
	r, err := s.store.GetRecord(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Record{}, errNotFound(err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get token: %w", err)
	}
	if !caller.owns(r) {
		return Record{}, errNotFound(nil)
	}
	return r, nil
}

// Get returns the record id, or a not-found error if it is missing or the
// caller may not see it.
func (s *Service) Get(ctx context.Context, caller Caller, id string) (Record, error) {
	r, err := s.load(ctx, caller, id)
	if err != nil {
		return Record{}, err
	}
	return s.present(r, s.clock()), nil
}

// UpdateInput is the input of Update (PATCH /api/tokens/{id}); nil fields stay.
type UpdateInput struct {
	Name   *string   `json:"name"`
	Scopes *[]string `json:"scopes"`
}

// Update renames the record or changes its scopes, and logs UPDATE. New
// scopes take effect at the next generation: scopesPending reports that the
// current JWT still carries the old ones. A name the owner already uses is
// a conflict naming "name".
func (s *Service) Update(ctx context.Context, caller Caller, id string, in UpdateInput) (Record, bool, error) {
	now := s.clock()
	for range maxSwapAttempts {
		r, pending, err := s.update(ctx, caller, id, in)
		if errors.Is(err, ErrConflict) {
			continue // regenerated meanwhile: apply the change to the new generation
		}
		if err != nil {
			return Record{}, false, err
		}
		s.appendLogs(ctx, []RecordLog{{RecordID: id, Entry: LogEntry{Activity: ActivityUpdate, At: now, By: caller.actor(), Result: ResultOK}}})
		if got, err := s.store.GetRecord(ctx, id); err == nil {
			r = got // with any use recorded meanwhile
		}
		return s.present(r, now), pending, nil
	}
	return Record{}, false, errBusy()
}

// maxSwapAttempts bounds how often Generate and Update retry a
// compare-and-swap that lost to a concurrent generation.
const maxSwapAttempts = 32

// errBusy is the 409 of a record regenerated too often concurrently.
func errBusy() error {
	return &apperr.Error{Code: apperr.CodeConflict, Message: "the token was regenerated concurrently; try again", Err: ErrConflict}
}

// update is one attempt of Update: it writes the change only if the
// record's generation is still the one read (ErrConflict otherwise), so
// that a concurrent Generate is never undone.
func (s *Service) update(ctx context.Context, caller Caller, id string, in UpdateInput) (Record, bool, error) {
	r, err := s.load(ctx, caller, id)
	if err != nil {
		return Record{}, false, err
	}
	if err := errEnded(s.present(r, s.clock())); err != nil {
		return Record{}, false, err
	}
	pending := false
	if in.Name != nil {
		if *in.Name == "" {
			return Record{}, false, apperr.Invalid("name", "must not be empty")
		}
		if err := checkName("name", *in.Name, MaxNameLen); err != nil {
			return Record{}, false, err
		}
		r.Name = *in.Name
	}
	if in.Scopes != nil {
		if r.Type != token.KindAPI && len(*in.Scopes) > 0 {
			return Record{}, false, errScopesAPIOnly()
		}
		scopes, err := s.checkScopes(*in.Scopes)
		if err != nil {
			return Record{}, false, err
		}
		if r.Type == token.KindAPI && len(scopes) == 0 {
			return Record{}, false, apperr.Invalid("scopes", "an API token needs at least one scope")
		}
		pending = r.JTI != "" && !slices.Equal(scopes, r.Scopes)
		r.Scopes = scopes
	}
	if err := s.store.UpdateRecordIf(ctx, r, r.JTI); err != nil {
		switch {
		case errors.Is(err, ErrConflict):
			return Record{}, false, ErrConflict
		case errors.Is(err, ErrNameTaken):
			return Record{}, false, errNameTaken(err)
		case errors.Is(err, ErrNotFound):
			return Record{}, false, errNotFound(err)
		}
		return Record{}, false, fmt.Errorf("update token: %w", err)
	}
	return r, pending, nil
}

// Generate mints a new JWT for the record, returned this once. The previous
// JWT is denied first: if that fails, its error is returned unchanged
// (wrapping apperr.ErrStoreUnavailable: 503) and nothing changes. Logs
// GENERATE. An expired record cannot be generated (conflict on expiresAt),
// nor an API token whose owner lost the api-tokens role (forbidden on owner).
//
// Exactly one JWT per record is live: each attempt denies the generation it
// read, mints, and stores the new one only if the record still holds the
// generation it read (Store.UpdateRecordIf, a compare-and-swap). An attempt
// that loses to a concurrent Generate starts over from the record that won,
// denying that generation in turn, so every JWT but the record's current
// one is denied; after maxSwapAttempts losses it is a conflict (409).
func (s *Service) Generate(ctx context.Context, caller Caller, id string) (Record, string, error) {
	now := s.clock()
	call := randomID()[:8]
	for range maxSwapAttempts {
		r, jwt, err := s.generate(ctx, caller, id, call, now)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Record{}, "", err
		}
		s.appendLogs(ctx, []RecordLog{{RecordID: id, Entry: LogEntry{Activity: ActivityGenerate, At: now, By: caller.actor(), Result: ResultOK}}})
		return s.present(r, now), jwt, nil
	}
	return Record{}, "", errBusy()
}

// generate is one attempt of Generate; ErrConflict if another generation
// was stored since the record was read (the new JWT is then dropped unseen).
func (s *Service) generate(ctx context.Context, caller Caller, id, call string, now time.Time) (Record, string, error) {
	r, err := s.load(ctx, caller, id)
	if err != nil {
		return Record{}, "", err
	}
	if err := errEnded(s.present(r, now)); err != nil {
		return Record{}, "", err
	}
	if err := s.checkRole(ctx, r); err != nil {
		return Record{}, "", err
	}
	// The previous generation is denied until its own expiry, before a
	// preset moves the record's.
	prevExp := cloneTime(r.ExpiresAt)
	if d, ok := expiresInPresets[r.ExpiresIn]; ok {
		// A preset counts from each generation (Envizi: "valid for N days
		// after it was generated"), never from the creation.
		r.ExpiresAt = presetExpiry(now, d)
	}
	prev := r.JTI
	jwt, err := s.mint(&r, caller, now)
	if err != nil {
		return Record{}, "", err
	}
	// The event goes first, before the previous generation is denied: no
	// change without its event (an attempt that loses the compare-and-swap
	// leaves an event that is never confirmed, and is dropped).
	if err := s.emit(ctx, generatedEvent(r, caller.actor(), call, now)); err != nil {
		return Record{}, "", err
	}
	if prev != "" {
		if err := s.revoker.Revoke(ctx, denial(prev, prevExp)); err != nil {
			return Record{}, "", err
		}
	}
	// If this write fails the new JWT is never shown; it is still bound to
	// the record id (tid), which Delete denies, and it is not the record's
	// current jti, which verification requires.
	if err := s.store.UpdateRecordIf(ctx, r, prev); err != nil {
		switch {
		case errors.Is(err, ErrConflict):
			return Record{}, "", ErrConflict
		case errors.Is(err, ErrNotFound):
			return Record{}, "", errNotFound(err)
		}
		return Record{}, "", fmt.Errorf("generate token: %w", err)
	}
	return r, jwt, nil
}

// errEnded is the 409 naming status of a revoked or expired record (as
// present shows it), which can no longer be generated nor changed; nil
// for a live one.
func errEnded(r Record) error {
	switch r.Status {
	case StatusRevoked:
		return &apperr.Error{Code: apperr.CodeConflict, Field: "status", Message: "the token is revoked"}
	case StatusExpired:
		return &apperr.Error{Code: apperr.CodeConflict, Field: "status", Message: "the token has expired"}
	}
	return nil
}

// denial is the Claims through which Revoker denies id until exp (forever if nil).
func denial(id string, exp *time.Time) *token.Claims {
	c := &token.Claims{}
	c.ID = id
	if exp != nil {
		c.ExpiresAt = jwtTime(*exp)
	}
	return c
}

// Delete revokes the record: it denies the record id (every generation's
// tid) and the current jti until the record's expiry (forever if none), and
// only once both are written marks the record revoked (RevokedAt; an API
// token's name is freed) and logs REVOKE. The record stays, readable with
// its log by whoever could read it, until Cleanup removes it after the
// retention. A denylist failure is returned unchanged (wrapping
// apperr.ErrStoreUnavailable: 503, never a false success) and the record
// stays as it was; retrying is safe. Revoking a revoked record only denies
// again (idempotent: nothing is logged).
func (s *Service) Delete(ctx context.Context, caller Caller, id string) error {
	r, err := s.load(ctx, caller, id)
	if err != nil {
		return err
	}
	return s.revokeRecord(ctx, r, caller.actor(), RevokedByDelete, s.clock())
}

// revokeRecord is Delete once the record is loaded and the caller allowed:
// by names who revoked it in the REVOKE log entry.
func (s *Service) revokeRecord(ctx context.Context, r Record, by, how string, now time.Time) error {
	id := r.ID
	if r.Status != StatusRevoked {
		if err := s.emit(ctx, revokedEvent(r, by, how, now)); err != nil {
			return err
		}
	}
	if err := s.revoker.Revoke(ctx, denial(r.ID, r.ExpiresAt)); err != nil {
		return err
	}
	if r.JTI != "" {
		if err := s.revoker.Revoke(ctx, denial(r.JTI, r.ExpiresAt)); err != nil {
			return err
		}
	}
	if r.Status == StatusRevoked {
		return nil // revoked before: denied again above (a retry is safe), nothing else
	}
	r.Status = StatusRevoked
	at := now
	r.RevokedAt = &at
	if err := s.store.UpdateRecord(ctx, r); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil // cleaned up meanwhile: denied, nothing left to mark
		}
		return fmt.Errorf("revoke token: %w", err)
	}
	if err := s.store.AppendLogs(ctx, []RecordLog{{RecordID: id, Entry: LogEntry{Activity: ActivityRevoke, At: now, By: by, Result: ResultOK}}}); err != nil {
		return fmt.Errorf("revoke token: log: %w", err)
	}
	return nil
}

// Covered selects the records whose current generation a revoke-all
// cutoff rejects. Set the fields of the cutoff's dimension: Owner for a
// subject (only API tokens carry their owner as sub), ReportID or AppID for
// a resource, CreatedBy for a client (registered tokens carry their
// record's creator as client_id) or, beside another field, to keep an
// issuer's cutoff to the records it created.
type Covered struct {
	Owner, ReportID, AppID, CreatedBy string
}

// RevokeCovered brings the records in line with a cutoff written at at:
// every record that cov selects and whose current JWT was generated at or
// before at is revoked as Delete revokes it (denied, status revoked, REVOKE
// logged by by, record kept as revoked), so record, log and verification agree
// (DESIGN §10) whichever path revoked the token. The cutoff itself already
// rejects those JWTs; this is the records' side. It returns how many
// records it revoked; on a store failure, the ones revoked so far stay
// revoked and a retry (the same revoke-all) finishes the job.
func (s *Service) RevokeCovered(ctx context.Context, by string, cov Covered, at time.Time) (int, error) {
	f := Filter{Owner: cov.Owner, ReportID: cov.ReportID, AppID: cov.AppID, CreatedBy: cov.CreatedBy, Limit: MaxLimit}
	if cov.Owner != "" {
		f.Type = token.KindAPI
	}
	if f == (Filter{Limit: MaxLimit}) {
		return 0, nil // selects nothing: not every record
	}
	// Collect first: revoking deletes records, which would move a cursor.
	var hit []Record
	for {
		page, next, err := s.store.ListRecords(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("revoke covered tokens: %w", err)
		}
		for _, r := range page {
			if r.JTI != "" && r.Status != StatusRevoked && r.GeneratedAt != nil && !r.GeneratedAt.After(at) {
				hit = append(hit, r)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	now := s.clock()
	for i, r := range hit {
		if err := s.revokeRecord(ctx, r, by, RevokedByRevokeAll, now); err != nil {
			return i, err
		}
	}
	return len(hit), nil
}

// MaxExpiryYears bounds how far ahead a registered token's expiresAt may be.
const MaxExpiryYears = 100

// recordID is the form of every record id (uuid.NewString's, and the ids
// of tests' and other deployments' records): anything else is not looked up.
var recordID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// checkPage validates a page size and maps 0 to DefaultLimit.
func checkPage(limit int) (int, error) {
	if limit < 0 || limit > MaxLimit {
		return 0, apperr.Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	if limit == 0 {
		return DefaultLimit, nil
	}
	return limit, nil
}

// listResource is the one resource every record of a non-admin listing
// must belong to, so that filtering by access never thins out a page; ""
// if f does not pin one.
func listResource(f Filter) string {
	switch {
	case f.ReportID != "":
		return "report:" + f.ReportID
	case f.AppID != "":
		return "app:" + f.AppID
	case f.Type == token.KindAPI && f.Owner != "":
		return "api:" + f.Owner
	}
	return ""
}

// List returns one page of records matching f, newest first, and the next
// cursor. Admins may list anything. Another client lists the records it
// created: all of them without a filter, and a listing it pins to a
// resource (a reportId, an appId, or type api with an owner) must name one
// it is allowed, a not-found error otherwise. A console caller lists its
// owner's API tokens (created through its client). Statuses are as Get shows
// them; filtering on one that the clock changes (expired) may return pages
// shorter than the limit, with a cursor while more may follow.
func (s *Service) List(ctx context.Context, caller Caller, f Filter) ([]Record, string, error) {
	now := s.clock()
	limit, err := checkPage(f.Limit)
	if err != nil {
		return nil, "", err
	}
	f.Limit = limit
	if f.Type != "" && f.Type != token.KindReport && f.Type != token.KindAppView && f.Type != token.KindAPI {
		return nil, "", apperr.Invalid("type", "must be one of %s, %s, %s", token.KindReport, token.KindAppView, token.KindAPI)
	}
	if f.Status != "" && !Status(f.Status).Valid() {
		return nil, "", apperr.Invalid("status", "unknown status")
	}
	if !caller.Admin {
		if caller.Owner != "" {
			// A console caller lists its owner's API tokens, and nothing else.
			if f.Type == "" {
				f.Type = token.KindAPI
			}
			if f.Owner == "" {
				f.Owner = caller.Owner
			}
		}
		res := listResource(f)
		if (res == "" && caller.Owner != "") || (res != "" && !caller.CanActOn(res)) {
			return nil, "", errNotFound(nil)
		}
		// Only its own records: the store filters (by the creator index
		// when no resource is pinned), so pages stay full.
		f.CreatedBy = caller.ID
	}
	want := f.Status
	if want == string(StatusExpired) {
		f.Status = "" // stored records are never "expired": filter after presenting
	}
	page, next, err := s.store.ListRecords(ctx, f)
	if errors.Is(err, ErrBadCursor) {
		return nil, "", &apperr.Error{Code: apperr.CodeInvalid, Field: "cursor", Message: "invalid cursor", Err: err}
	}
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Record, 0, len(page))
	for _, r := range page {
		if !caller.owns(r) {
			continue
		}
		r = s.present(r, now)
		if want != "" && string(r.Status) != want {
			continue
		}
		out = append(out, r)
	}
	return out, next, nil
}

// ListForReport returns the report's tokens that are not revoked (at most
// MaxListAll), newest first, as Informer lists a report's share links; a
// not-found error if the caller may not see that report. Revoked ones stay
// readable by id and in List.
func (s *Service) ListForReport(ctx context.Context, caller Caller, reportID string) ([]Record, error) {
	return s.listAll(ctx, caller, Filter{ReportID: reportID})
}

// ListForApp returns the app's tokens that are not revoked (at most
// MaxListAll), newest first; a not-found error if the caller may not see
// that app.
func (s *Service) ListForApp(ctx context.Context, caller Caller, appID string) ([]Record, error) {
	return s.listAll(ctx, caller, Filter{AppID: appID})
}

func (s *Service) listAll(ctx context.Context, caller Caller, f Filter) ([]Record, error) {
	f.Limit = MaxLimit
	out := []Record{}
	for len(out) < MaxListAll {
		page, next, err := s.List(ctx, caller, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.Status != StatusRevoked {
				out = append(out, r)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if len(out) > MaxListAll {
		out = out[:MaxListAll]
	}
	return out, nil
}

// Logs returns one page of the record's log, newest first, and the next
// cursor. The caller must be allowed to see the record; after the record is
// deleted its log stays readable by admins for LogRetention.
func (s *Service) Logs(ctx context.Context, caller Caller, id string, limit int, cursor string) ([]LogEntry, string, error) {
	limit, err := checkPage(limit)
	if err != nil {
		return nil, "", err
	}
	_, err = s.load(ctx, caller, id)
	gone := err != nil && errors.Is(err, ErrNotFound) && caller.Admin
	if err != nil && !gone {
		return nil, "", err
	}
	logs, next, err := s.store.ListLogs(ctx, id, limit, cursor)
	if errors.Is(err, ErrBadCursor) {
		return nil, "", &apperr.Error{Code: apperr.CodeInvalid, Field: "cursor", Message: "invalid cursor", Err: err}
	}
	if err != nil {
		return nil, "", fmt.Errorf("list token logs: %w", err)
	}
	if gone && len(logs) == 0 && cursor == "" {
		return nil, "", errNotFound(nil)
	}
	return logs, next, nil
}

// Cleanup deletes the records that were revoked or expired at or before
// now minus the retention (the janitor), with their logs, and returns how
// many it deleted. Their JWTs are denied or expired, so nothing is denied.
func (s *Service) Cleanup(ctx context.Context, now time.Time) (int, error) {
	deleted := 0
	before := now.Add(-s.retention)
	for {
		ids, err := s.store.EndedBefore(ctx, before, cleanupBatch)
		if err != nil {
			return deleted, fmt.Errorf("cleanup: %w", err)
		}
		progress := 0
		for _, id := range ids {
			r, err := s.store.GetRecord(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return deleted, fmt.Errorf("cleanup: %w", err)
			}
			if end := r.EndedAt(); end == nil || end.After(before) {
				continue // its expiry moved since it was listed
			}
			switch err := s.store.DeleteRecord(ctx, id); {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return deleted, fmt.Errorf("cleanup: %w", err)
			default:
				deleted++
				progress++
			}
		}
		if len(ids) < cleanupBatch || progress == 0 {
			return deleted, nil
		}
	}
}

// SetRole grants (granted) or withdraws the api-tokens role of owner. Only
// admins may call it; the HTTP layer checks.
func (s *Service) SetRole(ctx context.Context, owner string, granted bool) error {
	if owner == "" {
		return apperr.Invalid("owner", "an owner is required")
	}
	if err := checkText("owner", owner, MaxIDLen); err != nil {
		return err
	}
	if s.events != nil {
		// An owner.* event only for a change: granting a held role is a no-op.
		has, err := s.store.HasRole(ctx, owner, RoleAPITokens)
		if err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		if has != granted {
			if err := s.emit(ctx, roleEvent(owner, granted, "", s.clock())); err != nil {
				return err
			}
		}
	}
	if err := s.store.SetRole(ctx, owner, RoleAPITokens, granted); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// RevokePresented revokes the registered token c that a client presents
// to RFC 7009 revocation. Only a caller that may manage its record (Caller:
// an admin or the client that created it) may: a forbidden error otherwise,
// so holding a share link, or another tenant's credentials, is not enough.
// If c is the record's current generation the record is revoked as Delete
// revokes it (every generation denied, status revoked, REVOKE logged by the
// caller, record kept as revoked); an older generation, already denied when it was
// replaced, or a token whose record is gone, is denied itself and nothing
// else changes. A denylist failure is returned unchanged (503).
func (s *Service) RevokePresented(ctx context.Context, caller Caller, c *token.Claims) error {
	r, err := s.store.GetRecord(ctx, c.TID)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.revoker.Revoke(ctx, c)
	case err != nil:
		return fmt.Errorf("revoke token: %w", err)
	case !caller.owns(r):
		return &apperr.Error{Code: apperr.CodeForbidden,
			Message: "only the client that created this token, or an admin, may revoke it"}
	case r.JTI != c.ID:
		return s.revoker.Revoke(ctx, c)
	}
	return s.revokeRecord(ctx, r, caller.actor(), RevokedByPresented, s.clock())
}

// RecordReader reads records; Store satisfies it.
type RecordReader interface {
	GetRecord(ctx context.Context, id string) (Record, error)
}

// Liveness is token.Records over a record store: a registered token is
// valid only as its record's live generation (DESIGN §10).
type Liveness struct{ store RecordReader }

var _ token.Records = (*Liveness)(nil)

// NewLiveness returns the Liveness check of the records in st.
func NewLiveness(st RecordReader) *Liveness { return &Liveness{store: st} }

// CheckRecord returns nil if the record c.TID exists, is not revoked, has
// c's kind and resource, its current generation is c's jti and c expires no
// later than it; an error wrapping token.ErrRevoked if not; a store failure
// otherwise (wrapping apperr.ErrStoreUnavailable).
func (l *Liveness) CheckRecord(ctx context.Context, c *token.Claims) error {
	r, err := l.store.GetRecord(ctx, c.TID)
	if errors.Is(err, ErrNotFound) {
		return token.RecordGone(c.TID)
	}
	if err != nil {
		return fmt.Errorf("read record %s: %w", c.TID, err)
	}
	return token.CheckLive(c, token.RecordState{
		ID: r.ID, Revoked: r.Status == StatusRevoked, JTI: r.JTI,
		Kind: r.Type, ReportID: r.ReportID, AppID: r.AppID, Owner: r.Owner, ExpiresAt: r.ExpiresAt,
	})
}
