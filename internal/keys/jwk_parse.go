package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// ParseJWKS reads a JWK Set into public verification keys. Each key's KID is
// recomputed as its RFC 7638 thumbprint and must equal the published kid, so
// a set cannot pass off one key under another's id. Keys whose alg or type
// sigil does not use (and private or symmetric members) are rejected.
func ParseJWKS(data []byte) ([]*Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	out := make([]*Key, 0, len(set.Keys))
	for i, raw := range set.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("parse jwks: key %d: %w", i, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func parseJWK(raw json.RawMessage) (*Key, error) {
	var j struct {
		JWK
		D string `json:"d"`
		K string `json:"k"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	if j.D != "" || j.K != "" {
		return nil, errors.New("private or symmetric key material in a public key set")
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("use %q is not sig: %w", j.Use, ErrUnsupported)
	}
	pub, err := j.JWK.publicKey()
	if err != nil {
		return nil, err
	}
	alg, err := AlgOf(pub)
	if err != nil {
		return nil, err
	}
	if j.Alg != "" && j.Alg != alg {
		return nil, fmt.Errorf("alg %q does not match a %s key: %w", j.Alg, alg, ErrUnsupported)
	}
	kid, err := Thumbprint(pub)
	if err != nil {
		return nil, err
	}
	if j.KID != kid {
		return nil, fmt.Errorf("kid %q is not the key's RFC 7638 thumbprint", j.KID)
	}
	return &Key{KID: kid, Alg: alg, Public: pub, Source: "jwks"}, nil
}

// publicKey rebuilds the public key a JWK describes.
func (j JWK) publicKey() (any, error) {
	dec := func(name, v string) ([]byte, error) {
		b, err := b64.DecodeString(v)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("member %s is not base64url", name)
		}
		return b, nil
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := dec("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 x must be 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "EC" && j.Crv == "P-256":
		x, err := dec("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := dec("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("P-256 coordinates must be 32 bytes")
		}
		// ParseUncompressedPublicKey validates that the point is on the curve.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("P-256 point: %w", err)
		}
		return pub, nil
	case j.Kty == "RSA":
		n, err := dec("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := dec("e", j.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, errors.New("RSA exponent too large")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < MinRSABits || pub.E < 3 || pub.E%2 == 0 {
			return nil, fmt.Errorf("RSA key under %d bits or with a bad exponent: %w", MinRSABits, ErrUnsupported)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("kty %q crv %q: %w", j.Kty, j.Crv, ErrUnsupported)
}
