package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sigil-dev/sigil/internal/clients"
)

// ErrNoSession is returned by Resume for a cookie that names no live
// session: unknown, signed out, timed out, or whose client was deleted or
// had its secret rotated.
var ErrNoSession = errors.New("no live console session")

// IDBytes is the entropy of a session id: 256 bits.
const IDBytes = 32

// touchEvery is how stale LastSeen may get before a use writes it again
// (at most; a quarter of the idle timeout when that is shorter, so that
// a session in use never reaches its idle deadline between two writes):
// the idle timeout is kept to within this, and a busy console does not
// write the store on every request.
const touchEvery = time.Minute

// Clients reads client records; *clients.Service satisfies it.
type Clients interface {
	// Get returns the client with id from the store (never a cache, so that
	// a deletion on another instance ends the session at once), or an error
	// wrapping clients.ErrNotFound.
	Get(ctx context.Context, id string) (clients.Client, error)
}

var _ Clients = (*clients.Service)(nil)

// Config configures a Service.
type Config struct {
	Store   Store
	Clients Clients
	// Idle ends a session not used for this long; Max ends any session
	// this long after sign-in.
	Idle, Max time.Duration
	// MaxPerClient bounds the live sessions of one client: a sign-in past
	// it ends that client's oldest session (default MaxSessionsPerClient),
	// so a tenant signing in in a loop cannot grow the store.
	MaxPerClient int
	Now          func() time.Time
	Rand         io.Reader
}

// MaxSessionsPerClient is the default bound on one client's live sessions.
const MaxSessionsPerClient = 20

// Service starts, resumes and ends console sessions.
type Service struct{ cfg Config }

// New returns a Service; Now and Rand default to the real ones, Idle to
// 30 minutes and Max to 12 hours.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Minute
	}
	if cfg.Max <= 0 {
		cfg.Max = 12 * time.Hour
	}
	if cfg.MaxPerClient <= 0 {
		cfg.MaxPerClient = MaxSessionsPerClient
	}
	return &Service{cfg: cfg}
}

// Max is the absolute lifetime of a session (the cookie's Max-Age).
func (s *Service) Max() time.Duration { return s.cfg.Max }

// Started is a new session: Cookie is the value for the session cookie,
// shown to nobody else and never stored.
type Started struct {
	Cookie  string
	CSRF    string
	Session Session
}

// Start signs cl in (the caller has authenticated it) and returns the new
// session; past MaxPerClient live sessions of cl, the oldest one ends.
func (s *Service) Start(ctx context.Context, cl clients.Client) (Started, error) {
	b := make([]byte, IDBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return Started{}, fmt.Errorf("session id: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	sess := Session{
		ID: hashID(raw), ClientID: cl.ID, SecretTag: SecretTag(cl),
		CreatedAt: now, LastSeen: now, ExpiresAt: s.expiry(now, now),
	}
	if err := s.cfg.Store.CreateSession(ctx, sess, s.cfg.MaxPerClient); err != nil {
		return Started{}, fmt.Errorf("create session: %w", err)
	}
	return Started{Cookie: raw, CSRF: CSRFToken(raw), Session: sess}, nil
}

// Resume returns the client and session a cookie value stands for, moving
// its idle deadline on; ErrNoSession when it stands for none (the session
// is then deleted if it still existed). Store failures are returned as is.
func (s *Service) Resume(ctx context.Context, cookie string) (clients.Client, Session, error) {
	if !wellFormed(cookie) {
		return clients.Client{}, Session{}, ErrNoSession
	}
	id := hashID(cookie)
	sess, err := s.cfg.Store.GetSession(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return clients.Client{}, Session{}, ErrNoSession
	}
	if err != nil {
		return clients.Client{}, Session{}, fmt.Errorf("get session: %w", err)
	}
	now := s.now()
	end := func() (clients.Client, Session, error) {
		if err := s.cfg.Store.DeleteSession(ctx, id); err != nil {
			return clients.Client{}, Session{}, fmt.Errorf("delete session: %w", err)
		}
		return clients.Client{}, Session{}, ErrNoSession
	}
	if !now.Before(s.expiry(sess.CreatedAt, sess.LastSeen)) {
		return end()
	}
	cl, err := s.cfg.Clients.Get(ctx, sess.ClientID)
	if errors.Is(err, clients.ErrNotFound) {
		return end()
	}
	if err != nil {
		return clients.Client{}, Session{}, fmt.Errorf("get client: %w", err)
	}
	if !hmac.Equal(SecretTag(cl), sess.SecretTag) {
		return end()
	}
	if now.Sub(sess.LastSeen) >= min(touchEvery, s.cfg.Idle/4) {
		sess.LastSeen, sess.ExpiresAt = now, s.expiry(sess.CreatedAt, now)
		err := s.cfg.Store.TouchSession(ctx, id, sess.LastSeen, sess.ExpiresAt)
		if errors.Is(err, ErrNotFound) { // signed out meanwhile
			return clients.Client{}, Session{}, ErrNoSession
		}
		if err != nil {
			return clients.Client{}, Session{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return cl, sess, nil
}

// End signs the session of cookie out; an unknown one is not an error.
func (s *Service) End(ctx context.Context, cookie string) error {
	if !wellFormed(cookie) {
		return nil
	}
	return s.cfg.Store.DeleteSession(ctx, hashID(cookie))
}

// expiry is when a session created at created and last used at seen ends.
func (s *Service) expiry(created, seen time.Time) time.Time {
	idle, abs := seen.Add(s.cfg.Idle), created.Add(s.cfg.Max)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// CSRFToken is the CSRF token of the session whose cookie value is cookie:
// HMAC-SHA-256 keyed by the cookie value, so it needs no storage and whoever
// reads the store (which holds only the id's hash) cannot compute it.
func CSRFToken(cookie string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("sigil console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports in constant time whether token is the CSRF token of cookie.
func CheckCSRF(cookie, token string) bool {
	return token != "" && hmac.Equal([]byte(CSRFToken(cookie)), []byte(token))
}

// SecretTag is the digest of cl's stored secret hash that a session keeps:
// it changes when the secret does.
func SecretTag(cl clients.Client) []byte {
	sum := sha256.Sum256(append([]byte("sigil console secret tag v1:"), cl.SecretHash...))
	return sum[:16]
}

// hashID is the store key of a session id.
func hashID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether v can be a session id: 43 base64url
// characters. Anything else is refused without a store read.
func wellFormed(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(IDBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil
}
