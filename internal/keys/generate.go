package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
)

// RSABits is the modulus size Generate uses for RS256 keys.
const RSABits = 3072

// MinRSABits is the smallest RSA modulus sigil accepts when loading or writing a key.
const MinRSABits = 2048

// MinSecretLen is the smallest HS256 shared secret, in bytes, that SecretKey accepts.
const MinSecretLen = 32

// ErrUnsupported is wrapped by every error about an algorithm, curve, key type
// or PEM block type that sigil does not handle.
var ErrUnsupported = errors.New("unsupported")

// Generate makes a new private key for alg: EdDSA (Ed25519), ES256 (P-256)
// or RS256 (RSA, RSABits). Any other alg, HS256 included, is an error that
// names it and wraps ErrUnsupported.
func Generate(alg string) (crypto.Signer, error) {
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate %s: %w", alg, err)
		}
		return priv, nil
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate %s: %w", alg, err)
		}
		return priv, nil
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, RSABits)
		if err != nil {
			return nil, fmt.Errorf("keys: generate %s: %w", alg, err)
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("keys: generate %q: %w algorithm (want %s, %s or %s)", alg, ErrUnsupported, EdDSA, ES256, RS256)
	}
}

// AlgOf reports the JWT alg for a private or public key: Ed25519 is EdDSA,
// ECDSA P-256 is ES256 and RSA is RS256. Other curves and key types are an
// error wrapping ErrUnsupported. AlgOf does not check the RSA key size.
func AlgOf(k any) (string, error) {
	switch k := k.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("keys: invalid Ed25519 private key length %d", len(k))
		}
		return EdDSA, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("keys: invalid Ed25519 public key length %d", len(k))
		}
		return EdDSA, nil
	case *ecdsa.PrivateKey:
		if k == nil {
			return "", errors.New("keys: nil ECDSA private key")
		}
		return ecAlg(&k.PublicKey)
	case *ecdsa.PublicKey:
		if k == nil {
			return "", errors.New("keys: nil ECDSA public key")
		}
		return ecAlg(k)
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			return "", errors.New("keys: nil RSA private key")
		}
		return RS256, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", errors.New("keys: nil RSA public key")
		}
		return RS256, nil
	default:
		return "", fmt.Errorf("keys: %w key type %T", ErrUnsupported, k)
	}
}

func ecAlg(pub *ecdsa.PublicKey) (string, error) {
	if pub.Curve == nil {
		return "", errors.New("keys: ECDSA key without a curve")
	}
	if pub.Curve != elliptic.P256() {
		return "", fmt.Errorf("keys: %w curve %s (only P-256/ES256)", ErrUnsupported, pub.Curve.Params().Name)
	}
	return ES256, nil
}

// rsaBits returns the modulus size of an RSA key, or 0 for other keys.
func rsaBits(k any) int {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k.N.BitLen()
	case *rsa.PublicKey:
		return k.N.BitLen()
	}
	return 0
}
