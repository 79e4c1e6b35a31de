package registry

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// sealer seals JWTs at rest with AES-GCM: a random nonce per seal, the
// record id as additional data, so a sealed JWT only opens for its record.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("registry: reveal key must be 16, 24 or 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("registry: reveal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("registry: reveal key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns nonce||ciphertext of jwt bound to recordID, or nil when
// reveal is off.
func (s *Service) seal(token, recordID string) ([]byte, error) {
	if s.sealer == nil {
		return nil, nil
	}
	nonce := make([]byte, s.sealer.aead.NonceSize(), s.sealer.aead.NonceSize()+len(token)+s.sealer.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("registry: seal token: %w", err)
	}
	return s.sealer.aead.Seal(nonce, nonce, []byte(token), []byte(recordID)), nil
}

// ErrUnseal is returned by RevealToken when a sealed JWT does not open: a
// different key, or data that was changed or moved to another record.
var ErrUnseal = errors.New("registry: sealed token does not open")

// RevealToken returns the record's current JWT when reveal is on and the
// record has one, and "" otherwise. It fails with ErrUnseal when the sealed
// JWT does not open with this key for this record.
func (s *Service) RevealToken(r Record) (string, error) {
	if s.sealer == nil || len(r.Sealed) == 0 {
		return "", nil
	}
	n := s.sealer.aead.NonceSize()
	if len(r.Sealed) < n+s.sealer.aead.Overhead() {
		return "", ErrUnseal
	}
	plain, err := s.sealer.aead.Open(nil, r.Sealed[:n], r.Sealed[n:], []byte(r.ID))
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

// jwtTime converts a record time to a JWT NumericDate.
func jwtTime(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }
