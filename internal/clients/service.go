package clients

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/ident"
)

// ErrBadCredentials is returned by Authenticate for an unknown id or a wrong
// secret alike, so callers cannot tell which part was wrong.
var ErrBadCredentials = errors.New("bad client credentials")

// AdminID is the id of the bootstrap admin client.
const AdminID = "admin"

// SecretBytes is the entropy of a generated secret: 256 bits.
const SecretBytes = 32

var (
	scopePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$`)
	resourceKinds   = []string{"dashboard", "report", "app", "api"}
	resourcePattern = regexp.MustCompile(`^(dashboard|report|app|api):[A-Za-z0-9*?._:-]{1,128}$`)
)

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store  Store
	Pepper []byte
	// MaxTokenExpiry caps a client's maxTokenExpiry (seconds).
	MaxTokenExpiry int64
	Now            func() time.Time
	Rand           io.Reader
	NewID          func() string
	// CacheTTL keeps client records read for authentication this long, so
	// minting costs no store trip (0 disables). Changes made through this
	// Service take effect here at once; changes made on another instance
	// within CacheTTL. When the store fails, a cached record of any age
	// within StaleTTL is used instead (DESIGN §5: minting goes on from a
	// cached copy of the client records).
	CacheTTL time.Duration
	StaleTTL time.Duration
	// Changes, when set, is told of every change made through this
	// Service (create, rotation, deletion, the admin's secret), so that the
	// other instances drop their cached copy at once (Forget) rather than
	// within CacheTTL; internal/store/redis publishes it.
	Changes ChangeNotifier
}

// ChangeNotifier broadcasts that a client record changed. A lost notice
// costs only the CacheTTL bound: receivers also drop their whole cache
// whenever they (re)connect.
type ChangeNotifier interface {
	ClientChanged(ctx context.Context, id string)
}

// Service creates clients, issues their secrets and authenticates them.
type Service struct {
	cfg   ServiceConfig
	cache sync.Map // id → *cachedClient
	// missing counts the cached "no such id" entries, bounded by maxMissing.
	missing atomic.Int64
	// dummy is compared against when the client id is unknown, so that an
	// unknown id costs the same as a wrong secret.
	dummy []byte
	// onCompare, when set (tests), sees every secret comparison.
	onCompare func(want []byte)
	// inner and outer are HMAC-SHA-256's two hash states after the
	// pepper's padded key block (RFC 2104: H(K^ipad), H(K^opad)), computed
	// once: each hash clones them instead of hashing the key blocks again.
	// nil when SHA-256 cannot be cloned (never in Go's library): hash then
	// uses crypto/hmac.
	inner, outer hash.Cloner
	// keyed hashes from the same two states without allocating (compare);
	// nil when SHA-256 cannot save its state (never in Go's library).
	keyed *keyedHashes
}

// maxMissing bounds the unknown ids the cache remembers: past it they are
// all forgotten at once, so a caller probing random ids cannot grow memory.
const maxMissing = 10_000

// NewService returns a Service; Now, Rand and NewID default to the real ones.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewString
	}
	s := &Service{cfg: cfg}
	// A random hash no secret is known to match.
	s.dummy = make([]byte, sha256.Size)
	_, _ = rand.Read(s.dummy) // crypto/rand.Read never fails (Go 1.24+)
	s.inner, s.outer = hmacStates(cfg.Pepper)
	if s.inner != nil {
		s.keyed = newKeyedHashes(s.inner, s.outer)
	}
	return s
}

// hmacStates returns SHA-256 after the inner and the outer padded key
// block of HMAC with key (RFC 2104 §2), or nils if SHA-256 cannot clone.
func hmacStates(key []byte) (inner, outer hash.Cloner) {
	const block = sha256.BlockSize
	if len(key) > block {
		k := sha256.Sum256(key)
		key = k[:]
	}
	var ipad, opad [block]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	in, ok1 := sha256.New().(hash.Cloner)
	out, ok2 := sha256.New().(hash.Cloner)
	if !ok1 || !ok2 {
		return nil, nil
	}
	in.Write(ipad[:])
	out.Write(opad[:])
	return in, out
}

type cachedClient struct {
	c  Client
	at time.Time
	// missing marks an id the store does not know: an unknown id is then
	// answered from the cache like a known one, at the same cost.
	missing bool
}

// lookup returns the client for authentication: from the cache while fresh,
// else from the store (refreshing the cache), else a stale cached copy if
// the store is unavailable.
func (s *Service) lookup(ctx context.Context, id string) (Client, error) {
	if !ident.Valid(id) {
		// No client can have this id: unknown without a store read, and
		// never cached, so ids a caller makes up (20 KB each, say) cannot
		// fill the cache. (The admin client's id matches the pattern.)
		return Client{}, fmt.Errorf("get client: %w", ErrNotFound)
	}
	now := s.cfg.Now()
	v, cached := s.cache.Load(id)
	if cached && now.Sub(v.(*cachedClient).at) < s.cfg.CacheTTL {
		if v.(*cachedClient).missing {
			return Client{}, fmt.Errorf("get client %q: %w", id, ErrNotFound)
		}
		return v.(*cachedClient).c, nil
	}
	c, err := s.cfg.Store.GetClient(ctx, id)
	switch {
	case err == nil:
		if s.cfg.CacheTTL > 0 {
			s.store(id, &cachedClient{c: c, at: now})
		}
		return c, nil
	case errors.Is(err, ErrNotFound):
		if s.cfg.CacheTTL > 0 {
			s.store(id, &cachedClient{at: now, missing: true})
		}
		return Client{}, err
	case cached && !v.(*cachedClient).missing && errors.Is(err, apperr.ErrStoreUnavailable) &&
		now.Sub(v.(*cachedClient).at) < s.cfg.StaleTTL:
		return v.(*cachedClient).c, nil
	}
	return Client{}, err
}

// store caches e under id, keeping the count of unknown ids within maxMissing.
func (s *Service) store(id string, e *cachedClient) {
	prev, had := s.cache.Swap(id, e)
	wasMissing := had && prev.(*cachedClient).missing
	switch {
	case e.missing && !wasMissing:
		if s.missing.Add(1) > maxMissing {
			s.dropMissing()
		}
	case !e.missing && wasMissing:
		s.missing.Add(-1)
	}
}

// dropMissing forgets every cached unknown id.
func (s *Service) dropMissing() {
	s.cache.Range(func(k, v any) bool {
		if v.(*cachedClient).missing && s.cache.CompareAndDelete(k, v) {
			s.missing.Add(-1)
		}
		return true
	})
}

// forget drops id from the cache after a change made through this Service.
func (s *Service) forget(id string) {
	if v, ok := s.cache.LoadAndDelete(id); ok && v.(*cachedClient).missing {
		s.missing.Add(-1)
	}
}

// changed forgets id here and tells the other instances (Changes).
func (s *Service) changed(ctx context.Context, id string) {
	s.forget(id)
	if s.cfg.Changes != nil {
		s.cfg.Changes.ClientChanged(context.WithoutCancel(ctx), id)
	}
}

// Forget drops the cached copy of client id (a change notice from another
// instance): the next authentication reads the store.
func (s *Service) Forget(id string) { s.forget(id) }

// ForgetAll drops every cached client (notices may have been missed).
func (s *Service) ForgetAll() {
	s.cache.Range(func(k, _ any) bool {
		s.forget(k.(string))
		return true
	})
}

// NewClient is the input of Create.
type NewClient struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Role           string   `json:"role"`
	Resources      []string `json:"resources"`
	Scopes         []string `json:"scopes"`
	MaxTokenExpiry int64    `json:"maxTokenExpiry"`
}

// Validate checks the input and fills defaults (role issuer); errors name the field.
func (n *NewClient) Validate(maxExpiry int64) error {
	if n.ID != "" && !ident.Valid(n.ID) {
		return apperr.Invalid("id", ident.Rule)
	}
	if len(n.Name) > 200 {
		return apperr.Invalid("name", "must be at most 200 characters")
	}
	if n.Role == "" {
		n.Role = RoleIssuer
	}
	if n.Role != RoleAdmin && n.Role != RoleIssuer {
		return apperr.Invalid("role", "must be admin or issuer")
	}
	if len(n.Resources) > 64 {
		return apperr.Invalid("resources", "at most 64 patterns")
	}
	for i, r := range n.Resources {
		if !resourcePattern.MatchString(r) {
			return apperr.Invalid(fmt.Sprintf("resources[%d]", i), "must be <kind>:<id or glob> with kind one of %v", resourceKinds)
		}
		if _, err := path.Match(r, ""); err != nil {
			return apperr.Invalid(fmt.Sprintf("resources[%d]", i), "invalid glob pattern")
		}
	}
	if len(n.Scopes) > 64 {
		return apperr.Invalid("scopes", "at most 64 scopes")
	}
	for i, s := range n.Scopes {
		if !scopePattern.MatchString(s) {
			return apperr.Invalid(fmt.Sprintf("scopes[%d]", i), "must be 1-64 characters of A-Z a-z 0-9 : . _ -")
		}
	}
	if n.MaxTokenExpiry < 0 || n.MaxTokenExpiry > maxExpiry {
		return apperr.Invalid("maxTokenExpiry", "must be between 0 (server default) and %d seconds", maxExpiry)
	}
	return nil
}

// Create validates in, stores a new client and returns it with its secret,
// which is shown this once and never stored.
func (s *Service) Create(ctx context.Context, in NewClient) (Client, string, error) {
	if err := in.Validate(s.cfg.MaxTokenExpiry); err != nil {
		return Client{}, "", err
	}
	if in.ID == "" {
		in.ID = s.cfg.NewID()
	}
	secret, err := s.newSecret()
	if err != nil {
		return Client{}, "", err
	}
	c := Client{
		ID: in.ID, Name: in.Name, Role: in.Role,
		Resources: nonNil(in.Resources), Scopes: nonNil(in.Scopes),
		MaxTokenExpiry: in.MaxTokenExpiry, SecretHash: s.hash(secret),
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Second),
	}
	if err := s.cfg.Store.CreateClient(ctx, c); err != nil {
		if errors.Is(err, ErrAlreadyExists) {
			return Client{}, "", &apperr.Error{Code: apperr.CodeConflict, Field: "id", Message: "a client with this id already exists", Err: err}
		}
		return Client{}, "", fmt.Errorf("create client: %w", err)
	}
	s.changed(ctx, c.ID) // it may be cached as unknown
	return c, secret, nil
}

// EnsureAdmin makes the client "admin" exist with role admin and secret.
func (s *Service) EnsureAdmin(ctx context.Context, secret string) error {
	c := Client{
		ID: AdminID, Name: "bootstrap admin", Role: RoleAdmin,
		Resources: []string{}, Scopes: []string{},
		SecretHash: s.hash(secret), CreatedAt: s.cfg.Now().UTC().Truncate(time.Second),
	}
	defer s.changed(ctx, AdminID)
	err := s.cfg.Store.CreateClient(ctx, c)
	if errors.Is(err, ErrAlreadyExists) {
		err = s.cfg.Store.UpdateClient(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("ensure admin client: %w", err)
	}
	return nil
}

// Authenticate returns the client whose id and secret match, or an error
// wrapping ErrBadCredentials. The secret comparison is constant-time and an
// unknown id costs as much as a wrong secret.
func (s *Service) Authenticate(ctx context.Context, id, secret string) (Client, error) {
	c, err := s.lookup(ctx, id)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Client{}, fmt.Errorf("authenticate client: %w", err)
	}
	// One comparison on every path: against the dummy hash for an unknown
	// id, so that it does the same work as a known id with a wrong secret
	// (both are answered from the cache, or both from the store).
	valid := known && len(c.SecretHash) == len(s.dummy)
	want := s.dummy
	if valid {
		want = c.SecretHash
	}
	if !s.compare(secret, want) || !valid {
		return Client{}, ErrBadCredentials
	}
	return c, nil
}

// compare reports in constant time whether secret hashes to want.
func (s *Service) compare(secret string, want []byte) bool {
	if s.onCompare != nil {
		s.onCompare(want)
	}
	if s.keyed != nil {
		var sum [sha256.Size]byte
		if s.keyed.sum(secret, &sum) {
			return hmac.Equal(sum[:], want)
		}
	}
	return hmac.Equal(s.hash(secret), want)
}

// Get returns a client or an error wrapping ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Client, error) {
	return s.cfg.Store.GetClient(ctx, id)
}

// List returns every client.
func (s *Service) List(ctx context.Context) ([]Client, error) {
	return s.cfg.Store.ListClients(ctx)
}

// Delete removes a client; ErrNotFound if absent.
func (s *Service) Delete(ctx context.Context, id string) error {
	defer s.changed(ctx, id)
	return s.cfg.Store.DeleteClient(ctx, id)
}

// RotateSecret gives the client a new secret, returned once; the old one
// stops working at once, and SecretRotatedAt is set to now (refresh chains
// started before it end).
func (s *Service) RotateSecret(ctx context.Context, id string) (Client, string, error) {
	c, err := s.cfg.Store.GetClient(ctx, id)
	if err != nil {
		return Client{}, "", err
	}
	secret, err := s.newSecret()
	if err != nil {
		return Client{}, "", err
	}
	c.SecretHash = s.hash(secret)
	c.SecretRotatedAt = s.cfg.Now().UTC()
	defer s.changed(ctx, id)
	if err := s.cfg.Store.UpdateClient(ctx, c); err != nil {
		return Client{}, "", fmt.Errorf("rotate secret: %w", err)
	}
	return c, secret, nil
}

// Allows reports whether the client may act on resource ("dashboard:sales").
// Admins may act on everything.
func (c Client) Allows(resource string) bool {
	if c.Role == RoleAdmin {
		return true
	}
	return MatchesAny(c.Resources, resource)
}

// MatchesAny reports whether resource matches one of patterns (path.Match
// patterns such as "dashboard:*"): Client.Allows for a client that is not
// an admin.
func MatchesAny(patterns []string, resource string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, _ := path.Match(p, resource)
		return ok
	})
}

func (s *Service) newSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Service) hash(secret string) []byte {
	if s.inner != nil {
		if sum, ok := s.hashCloned(secret); ok {
			return sum
		}
	}
	m := hmac.New(sha256.New, s.cfg.Pepper)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// hashCloned is HMAC-SHA-256(pepper, secret) from the precomputed key
// states: the same bytes as crypto/hmac (TestHashMatchesHMAC), two
// compression rounds fewer.
func (s *Service) hashCloned(secret string) ([]byte, bool) {
	in, err := s.inner.Clone()
	if err != nil {
		return nil, false
	}
	out, err := s.outer.Clone()
	if err != nil {
		return nil, false
	}
	_, _ = io.WriteString(in, secret)
	var sum [sha256.Size]byte
	out.Write(in.Sum(sum[:0]))
	return out.Sum(nil), true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
