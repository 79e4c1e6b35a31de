package keys_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

// The example RSA key of RFC 7638 §3.1.
const (
	rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638E = "AQAB"
	// rfc7638Thumbprint is the expected result from RFC 7638 §3.1.
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func b64Decode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	return b
}

// referenceThumbprint computes RFC 7638 independently of the package:
// encoding/json sorts map keys and emits no whitespace.
func referenceThumbprint(tb testing.TB, members map[string]string) string {
	tb.Helper()
	b, err := json.Marshal(members)
	require.NoError(tb, err)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestThumbprint(t *testing.T) {
	rfcKey := &rsa.PublicKey{
		N: new(big.Int).SetBytes(b64Decode(t, rfc7638N)),
		E: int(new(big.Int).SetBytes(b64Decode(t, rfc7638E)).Int64()),
	}
	ed, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	es, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	esPoint, err := es.Public().(*ecdsa.PublicKey).Bytes()
	require.NoError(t, err)

	tests := []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{name: "OK/RFC7638Vector", pub: rfcKey, want: rfc7638Thumbprint},
		{name: "OK/Ed25519", pub: ed.Public(), want: referenceThumbprint(t, map[string]string{
			"kty": "OKP", "crv": "Ed25519",
			"x": base64.RawURLEncoding.EncodeToString(ed.Public().(ed25519.PublicKey)),
		})},
		{name: "OK/Ed25519PrivateKey", pub: ed, want: referenceThumbprint(t, map[string]string{
			"kty": "OKP", "crv": "Ed25519",
			"x": base64.RawURLEncoding.EncodeToString(ed.Public().(ed25519.PublicKey)),
		})},
		{name: "OK/P256", pub: es.Public(), want: referenceThumbprint(t, map[string]string{
			"kty": "EC", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(esPoint[1:33]),
			"y": base64.RawURLEncoding.EncodeToString(esPoint[33:]),
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keys.Thumbprint(tc.pub)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Len(t, got, 43)
		})
	}

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	errTests := []struct {
		name string
		pub  crypto.PublicKey
	}{
		{name: "ErrP384", pub: p384.Public()},
		{name: "ErrX25519", pub: x25519.PublicKey()},
		{name: "ErrShortEd25519", pub: ed25519.PublicKey{1, 2, 3}},
		{name: "ErrNil", pub: nil},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.Thumbprint(tc.pub)
			require.Error(t, err)
		})
	}
}

func TestThumbprintSecret(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	want := referenceThumbprint(t, map[string]string{
		"kty": "oct",
		"k":   base64.RawURLEncoding.EncodeToString(secret),
	})
	require.Equal(t, want, keys.ThumbprintSecret(secret))
	require.NotEqual(t, want, keys.ThumbprintSecret(append(secret, 'x')))
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name     string
		alg      string
		wantBits int
	}{
		{name: "OK/EdDSA", alg: keys.EdDSA},
		{name: "OK/ES256", alg: keys.ES256},
		{name: "OK/RS256", alg: keys.RS256, wantBits: keys.RSABits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := keys.Generate(tc.alg)
			require.NoError(t, err)
			alg, err := keys.AlgOf(s)
			require.NoError(t, err)
			require.Equal(t, tc.alg, alg)
			if tc.wantBits != 0 {
				require.Equal(t, tc.wantBits, s.(*rsa.PrivateKey).N.BitLen())
			}
		})
	}
	for _, alg := range []string{keys.HS256, "none", "es256", "ES384", ""} {
		t.Run("ErrUnknown/"+alg, func(t *testing.T) {
			s, err := keys.Generate(alg)
			require.Nil(t, s)
			require.ErrorIs(t, err, keys.ErrUnsupported)
			require.ErrorContains(t, err, `"`+alg+`"`)
		})
	}
}

func TestAlgOf(t *testing.T) {
	ed, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	es, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name    string
		key     any
		want    string
		wantErr string
	}{
		{name: "OK/Ed25519Private", key: ed, want: keys.EdDSA},
		{name: "OK/Ed25519Public", key: ed.Public(), want: keys.EdDSA},
		{name: "OK/P256Private", key: es, want: keys.ES256},
		{name: "OK/P256Public", key: es.Public(), want: keys.ES256},
		{name: "OK/RSAPrivate", key: rs, want: keys.RS256},
		{name: "OK/RSAPublic", key: rs.Public(), want: keys.RS256},
		{name: "ErrP384", key: p384, wantErr: "P-384"},
		{name: "ErrP384Public", key: p384.Public(), wantErr: "P-384"},
		{name: "ErrP224", key: p224, wantErr: "P-224"},
		{name: "ErrSecret", key: []byte("secret"), wantErr: "[]uint8"},
		{name: "ErrNil", key: nil, wantErr: "unsupported"},
		{name: "ErrNilECDSA", key: (*ecdsa.PrivateKey)(nil), wantErr: "nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keys.AlgOf(tc.key)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
