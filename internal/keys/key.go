package keys

import (
	"crypto"
	"io/fs"
	"time"
)

// Algorithm names as they appear in a JWT header's alg.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
	RS256 = "RS256"
	HS256 = "HS256"
)

// Key is one signing/verification key. For asymmetric algorithms Signer
// holds the private key and Public its public half; for HS256 Secret holds
// the shared secret and Public is nil (HS256 keys are never published).
type Key struct {
	// KID is the RFC 7638 JWK thumbprint (base64url, no padding).
	KID string
	// Alg is one of EdDSA, ES256, RS256, HS256.
	Alg string
	// Signer is the private key (ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey); nil for HS256.
	Signer crypto.Signer
	// Public is the public key (ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey); nil for HS256.
	Public crypto.PublicKey
	// Secret is the HS256 shared secret; nil otherwise.
	Secret []byte
	// Source is the file the key came from ("" for a configured secret).
	Source string
	// CreatedAt is the key file's modification time, used to pick the active key.
	CreatedAt time.Time
	// Mode is the permission bits of the key file (0 for a configured secret).
	Mode fs.FileMode
}

// ExposedBits are the permission bits a private key or secret file must
// not have: any access by the group or by other users.
const ExposedBits fs.FileMode = 0o077

// Exposed reports whether the key's file can be read (or written) by users
// other than its owner, like a PEM file left at mode 0644.
func (k *Key) Exposed() bool { return k.Mode&ExposedBits != 0 }

// SigningKey is what golang-jwt's SignedString expects for this key.
func (k *Key) SigningKey() any {
	if k.Alg == HS256 {
		return k.Secret
	}
	return k.Signer
}

// VerificationKey is what golang-jwt's Keyfunc must return for this key.
func (k *Key) VerificationKey() any {
	if k.Alg == HS256 {
		return k.Secret
	}
	return k.Public
}
