package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

// newKey generates an in-memory key of alg created at createdAt.
func newKey(tb testing.TB, alg string, createdAt time.Time) *keys.Key {
	tb.Helper()
	if alg == keys.HS256 {
		secret := make([]byte, 32)
		_, err := rand.Read(secret)
		require.NoError(tb, err)
		k, err := keys.SecretKey(secret)
		require.NoError(tb, err)
		k.CreatedAt = createdAt
		return k
	}
	signer, err := keys.Generate(alg)
	require.NoError(tb, err)
	return keyFromSigner(tb, signer, createdAt)
}

func keyFromSigner(tb testing.TB, signer crypto.Signer, createdAt time.Time) *keys.Key {
	tb.Helper()
	alg, err := keys.AlgOf(signer)
	require.NoError(tb, err)
	kid, err := keys.Thumbprint(signer.Public())
	require.NoError(tb, err)
	return &keys.Key{KID: kid, Alg: alg, Signer: signer, Public: signer.Public(), CreatedAt: createdAt}
}

// writeKey writes signer into dir with WritePEM and sets its mtime.
func writeKey(tb testing.TB, dir string, signer crypto.Signer, mtime time.Time) (string, *keys.Key) {
	tb.Helper()
	path, k, err := keys.WritePEM(dir, signer)
	require.NoError(tb, err)
	require.NoError(tb, os.Chtimes(path, mtime, mtime))
	return path, k
}

// dirLoader loads dir into a Set the way the server does.
func dirLoader(dir string) func() (*keys.Set, error) {
	return func() (*keys.Set, error) {
		ks, err := keys.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		return keys.NewSet(ks, "")
	}
}

// requireSignsFor checks that signer produces signatures pub verifies.
func requireSignsFor(tb testing.TB, signer crypto.Signer, pub crypto.PublicKey) {
	tb.Helper()
	msg := []byte("header.payload")
	digest := sha256.Sum256(msg)
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
		require.NoError(tb, err)
		require.True(tb, ed25519.Verify(pub, msg, sig))
	case *ecdsa.PublicKey:
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		require.NoError(tb, err)
		require.True(tb, ecdsa.VerifyASN1(pub, digest[:], sig))
	case *rsa.PublicKey:
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		require.NoError(tb, err)
		require.NoError(tb, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig))
	default:
		tb.Fatalf("unexpected public key type %T", pub)
	}
}

// requireNoKeyMaterial checks that err does not quote any line of a PEM body.
func requireNoKeyMaterial(tb testing.TB, err error, contents []byte) {
	tb.Helper()
	for line := range strings.Lines(string(contents)) {
		line = strings.TrimSpace(line)
		if len(line) < 16 || strings.HasPrefix(line, "-----") {
			continue
		}
		require.NotContains(tb, err.Error(), line[:16])
	}
}

func fileMode(tb testing.TB, path string) os.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	require.NoError(tb, err)
	return fi.Mode().Perm()
}

func pemNames(tb testing.TB, dir string) []string {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	require.NoError(tb, err)
	return names
}
