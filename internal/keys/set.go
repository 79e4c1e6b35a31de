package keys

import (
	"cmp"
	"crypto"
	"errors"
	"fmt"
	"slices"
)

// ErrNoKeys is returned by NewSet when it is given no keys.
var ErrNoKeys = errors.New("keys: no keys")

// ErrUnknownKID is wrapped by NewSet when the requested active kid is not
// among its keys.
var ErrUnknownKID = errors.New("unknown kid")

// Set is an immutable set of keys with one active signing key. The others
// only verify, which is how rotation works. A Set is safe for concurrent use;
// callers must not modify the Keys it holds.
type Set struct {
	active *Key
	byKID  map[string]*Key
	all    []*Key   // sorted by KID
	algs   []string // distinct, sorted
	jwks   []JWK    // asymmetric keys only, in KID order
}

// NewSet builds a Set from keys, of which there must be at least one. A kid
// that appears more than once is kept once, from its first occurrence.
// activeKID names the signing key; an unknown activeKID is an error naming
// it and wrapping ErrUnknownKID. With activeKID "", the asymmetric key with
// the newest CreatedAt is active (ties: the greatest KID); HS256 keys are
// picked by that rule only when there are no asymmetric keys. Every key must
// be complete: a KID, an Alg matching its key, and a Signer and Public for
// asymmetric algorithms or a Secret for HS256.
func NewSet(keys []*Key, activeKID string) (*Set, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	s := &Set{byKID: make(map[string]*Key, len(keys))}
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("keys: set: key %d: %w", i, err)
		}
		if _, dup := s.byKID[k.KID]; dup {
			continue
		}
		s.byKID[k.KID] = k
		s.all = append(s.all, k)
	}
	slices.SortFunc(s.all, func(a, b *Key) int { return cmp.Compare(a.KID, b.KID) })

	s.jwks = make([]JWK, 0, len(s.all))
	var asym []*Key
	for _, k := range s.all {
		if !slices.Contains(s.algs, k.Alg) {
			s.algs = append(s.algs, k.Alg)
		}
		if k.Alg == HS256 {
			continue
		}
		asym = append(asym, k)
		j, err := k.JWK()
		if err != nil {
			return nil, fmt.Errorf("keys: set: %w", err)
		}
		s.jwks = append(s.jwks, j)
	}
	slices.Sort(s.algs)

	if activeKID != "" {
		k, ok := s.byKID[activeKID]
		if !ok {
			return nil, fmt.Errorf("keys: set: active kid %q: %w", activeKID, ErrUnknownKID)
		}
		s.active = k
		return s, nil
	}
	candidates := asym
	if len(candidates) == 0 {
		candidates = s.all
	}
	for _, k := range candidates {
		if s.active == nil || k.CreatedAt.After(s.active.CreatedAt) ||
			(k.CreatedAt.Equal(s.active.CreatedAt) && k.KID > s.active.KID) {
			s.active = k
		}
	}
	return s, nil
}

// checkKey reports why k cannot be part of a Set, if it cannot.
func checkKey(k *Key) error {
	if k == nil {
		return errors.New("nil key")
	}
	if k.KID == "" {
		return errors.New("empty kid")
	}
	switch k.Alg {
	case HS256:
		if len(k.Secret) == 0 {
			return fmt.Errorf("kid %s: HS256 key without a secret", k.KID)
		}
		return nil
	case EdDSA, ES256, RS256:
	default:
		return fmt.Errorf("kid %s: %w alg %q", k.KID, ErrUnsupported, k.Alg)
	}
	if k.Signer == nil || k.Public == nil {
		return fmt.Errorf("kid %s: %s key without a signer and public key", k.KID, k.Alg)
	}
	alg, err := AlgOf(k.Public)
	if err != nil {
		return fmt.Errorf("kid %s: %w", k.KID, err)
	}
	if alg != k.Alg {
		return fmt.Errorf("kid %s: alg %s does not match its %s key", k.KID, k.Alg, alg)
	}
	pub, ok := k.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(k.Public) {
		return fmt.Errorf("kid %s: public key does not match the signer", k.KID)
	}
	return nil
}

// Active returns the key that signs new tokens.
func (s *Set) Active() *Key { return s.active }

// Lookup returns the key with exactly this kid (case-sensitive). It does
// not allocate.
func (s *Set) Lookup(kid string) (*Key, bool) {
	k, ok := s.byKID[kid]
	return k, ok
}

// All returns every key, sorted by KID. The slice is the caller's.
func (s *Set) All() []*Key { return slices.Clone(s.all) }

// Algorithms returns the distinct algs of the keys, sorted.
func (s *Set) Algorithms() []string { return slices.Clone(s.algs) }

// JWKS returns the public JWKs of every asymmetric key, in KID order, each
// with use "sig", alg and kid. HS256 keys are never included. Keys is
// empty, not nil, when there is none.
func (s *Set) JWKS() JWKS { return JWKS{Keys: slices.Clone(s.jwks)} }
