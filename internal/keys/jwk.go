package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// JWKS is a JSON Web Key Set (RFC 7517 §5) as served at the JWKS endpoint.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public JSON Web Key (RFC 7517/7518, RFC 8037 for OKP). Only
// the members for its kty are set: OKP has crv "Ed25519" and x; EC has crv
// "P-256", x and y (each 32 bytes before encoding); RSA has n and e. Byte
// values are base64url without padding. A JWK never carries private members.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	KID string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

var b64 = base64.RawURLEncoding

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint, base64url without
// padding, of an Ed25519, P-256 ECDSA or RSA public key. A private key is
// reduced to its public half. Other key types and curves are an error.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	return thumbprintOf(canonicalJWK(j)), nil
}

// ThumbprintSecret returns the RFC 7638 thumbprint of the symmetric
// ("kty":"oct") JWK holding secret; it is the kid of an HS256 key.
func ThumbprintSecret(secret []byte) string {
	return thumbprintOf(`{"k":"` + b64.EncodeToString(secret) + `","kty":"oct"}`)
}

func thumbprintOf(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:])
}

// canonicalJWK renders the RFC 7638 §3.2 required members in lexicographic
// order with no whitespace. Every value is base64url or a fixed name, so
// none needs JSON escaping.
func canonicalJWK(j JWK) string {
	switch j.Kty {
	case "OKP":
		return `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	case "EC":
		return `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	default: // "RSA"
		return `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	}
}

// publicJWK returns the key-type members (kty, crv, x, y, n, e) of pub.
func publicJWK(pub crypto.PublicKey) (JWK, error) {
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	if _, err := AlgOf(pub); err != nil {
		return JWK{}, err
	}
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub)}, nil
	case *ecdsa.PublicKey:
		// Bytes is 0x04 || X || Y with both coordinates left-padded to 32 bytes.
		point, err := pub.Bytes()
		if err != nil {
			return JWK{}, fmt.Errorf("keys: encode P-256 public key: %w", err)
		}
		if len(point) != 65 {
			return JWK{}, fmt.Errorf("keys: unexpected P-256 point length %d", len(point))
		}
		return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(point[1:33]), Y: b64.EncodeToString(point[33:])}, nil
	case *rsa.PublicKey:
		if pub.E <= 0 {
			return JWK{}, errors.New("keys: invalid RSA public exponent")
		}
		e := big.NewInt(int64(pub.E)).Bytes()
		return JWK{Kty: "RSA", N: b64.EncodeToString(pub.N.Bytes()), E: b64.EncodeToString(e)}, nil
	default:
		return JWK{}, fmt.Errorf("keys: %w key type %T", ErrUnsupported, pub)
	}
}

// JWK returns k's public JWK with use "sig", alg and kid set. HS256 keys
// have no public form and are an error.
func (k *Key) JWK() (JWK, error) {
	if k.Alg == HS256 {
		return JWK{}, fmt.Errorf("keys: kid %s: HS256 keys are never published", k.KID)
	}
	j, err := publicJWK(k.Public)
	if err != nil {
		return JWK{}, fmt.Errorf("keys: kid %s: %w", k.KID, err)
	}
	j.Use, j.Alg, j.KID = "sig", k.Alg, k.KID
	return j, nil
}

// String describes k by alg, kid and source without any key material, so
// that logging a *Key is safe.
func (k *Key) String() string {
	if k == nil {
		return "<nil key>"
	}
	s := k.Alg + " key " + k.KID
	if k.Source != "" {
		s += " (" + k.Source + ")"
	}
	return s
}

// GoString is String, so that %#v does not dump key material either.
func (k *Key) GoString() string { return k.String() }
