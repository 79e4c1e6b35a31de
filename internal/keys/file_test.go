package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

func TestWritePEM_LoadDir(t *testing.T) {
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256} {
		t.Run(alg, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			signer, err := keys.Generate(alg)
			require.NoError(t, err)

			path, written, err := keys.WritePEM(dir, signer)
			require.NoError(t, err)
			require.Equal(t, dir, filepath.Dir(path))
			require.Equal(t, strings.ToLower(alg)+"-"+written.KID[:16]+".pem", filepath.Base(path))
			require.Equal(t, os.FileMode(0o600), fileMode(t, path))
			require.Equal(t, os.FileMode(0o700), fileMode(t, dir))
			require.Equal(t, alg, written.Alg)
			require.Equal(t, path, written.Source)
			wantKID, err := keys.Thumbprint(signer.Public())
			require.NoError(t, err)
			require.Equal(t, wantKID, written.KID)

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----\n"))

			var kids []string
			for range 2 { // kid is stable across reloads
				loaded, err := keys.LoadDir(dir)
				require.NoError(t, err)
				require.Len(t, loaded, 1)
				k := loaded[0]
				require.Equal(t, written.KID, k.KID)
				require.Equal(t, alg, k.Alg)
				require.Equal(t, path, k.Source)
				require.Equal(t, written.CreatedAt, k.CreatedAt)
				require.Equal(t, time.UTC, k.CreatedAt.Location())
				require.True(t, signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public))
				requireSignsFor(t, k.Signer, signer.Public())
				kids = append(kids, k.KID)
			}
			require.Equal(t, kids[0], kids[1])

			// Writing the same key again must not overwrite the file.
			_, _, err = keys.WritePEM(dir, signer)
			require.ErrorIs(t, err, fs.ErrExist)
		})
	}
}

func TestWritePEM_Err(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name    string
		signer  crypto.Signer
		wantErr string
	}{
		{name: "ErrSmallRSA", signer: small, wantErr: "1024 bits"},
		{name: "ErrP384", signer: p384, wantErr: "P-384"},
		{name: "ErrNilSigner", signer: nil, wantErr: "nil signer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, err := keys.WritePEM(dir, tc.signer)
			require.ErrorContains(t, err, tc.wantErr)
			require.Empty(t, pemNames(t, dir))
		})
	}
}

func pemBytes(tb testing.TB, typ string, der []byte) []byte {
	tb.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	require.NoError(tb, os.WriteFile(path, data, 0o600))
	return path
}

func TestLoadFile(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ed, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)

	sec1, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	pkcs8Ed, err := x509.MarshalPKCS8PrivateKey(ed)
	require.NoError(t, err)
	// openssl ecparam -genkey writes an EC PARAMETERS block (the P-256 OID) first.
	ecParams := pemBytes(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name    string
		data    []byte
		signer  crypto.Signer
		wantAlg string
	}{
		{name: "OK/PKCS8Ed25519", data: pemBytes(t, keys.PEMTypePKCS8, pkcs8Ed), signer: ed, wantAlg: keys.EdDSA},
		{name: "OK/SEC1", data: pemBytes(t, keys.PEMTypeSEC1, sec1), signer: ec, wantAlg: keys.ES256},
		{name: "OK/SEC1WithParams", data: append(ecParams, pemBytes(t, keys.PEMTypeSEC1, sec1)...), signer: ec, wantAlg: keys.ES256},
		{name: "OK/PKCS1", data: pemBytes(t, keys.PEMTypePKCS1, x509.MarshalPKCS1PrivateKey(rsaKey)), signer: rsaKey, wantAlg: keys.RS256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "k.pem", tc.data)
			mtime := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
			require.NoError(t, os.Chtimes(path, mtime, mtime))

			k, err := keys.LoadFile(path)
			require.NoError(t, err)
			require.Equal(t, tc.wantAlg, k.Alg)
			wantKID, err := keys.Thumbprint(tc.signer.Public())
			require.NoError(t, err)
			require.Equal(t, wantKID, k.KID)
			require.Equal(t, path, k.Source)
			require.Equal(t, mtime.UTC(), k.CreatedAt)
			require.Equal(t, time.UTC, k.CreatedAt.Location())
			require.Nil(t, k.Secret)
			requireSignsFor(t, k.Signer, tc.signer.Public())
			requireSignsFor(t, k.Signer, k.Public)
		})
	}
}

func TestLoadFile_Err(t *testing.T) {
	ed, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	edDER, err := x509.MarshalPKCS8PrivateKey(ed)
	require.NoError(t, err)
	edPEM := pemBytes(t, keys.PEMTypePKCS8, edDER)
	pubDER, err := x509.MarshalPKIXPublicKey(ed.Public())
	require.NoError(t, err)

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallPKCS8, err := x509.MarshalPKCS8PrivateKey(small)
	require.NoError(t, err)

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384SEC1, err := x509.MarshalECPrivateKey(p384)
	require.NoError(t, err)
	p384PKCS8, err := x509.MarshalPKCS8PrivateKey(p384)
	require.NoError(t, err)

	tests := []struct {
		name    string
		data    []byte
		wantErr string
		wantIs  error
	}{
		{name: "ErrGarbage", data: []byte("this is not a key\x00\xff\n"), wantErr: "no PEM private key block"},
		{name: "ErrEmpty", data: nil, wantErr: "no PEM private key block"},
		{name: "ErrTruncatedPEM", data: edPEM[:len(edPEM)/2], wantErr: "no PEM private key block"},
		{name: "ErrTruncatedDER", data: pemBytes(t, keys.PEMTypePKCS8, edDER[:len(edDER)-5]), wantErr: "parse"},
		{name: "ErrWrongTypePublicKey", data: pemBytes(t, "PUBLIC KEY", pubDER), wantErr: `"PUBLIC KEY"`, wantIs: keys.ErrUnsupported},
		{name: "ErrWrongTypeCertificate", data: pemBytes(t, "CERTIFICATE", pubDER), wantErr: `"CERTIFICATE"`, wantIs: keys.ErrUnsupported},
		{name: "ErrMismatchedType", data: pemBytes(t, keys.PEMTypePKCS1, edDER), wantErr: "parse"},
		{name: "ErrEncrypted", data: pemBytes(t, "ENCRYPTED PRIVATE KEY", edDER), wantErr: "encrypted", wantIs: keys.ErrUnsupported},
		{name: "ErrSmallRSAPKCS1", data: pemBytes(t, keys.PEMTypePKCS1, x509.MarshalPKCS1PrivateKey(small)), wantErr: "1024 bits"},
		{name: "ErrSmallRSAPKCS8", data: pemBytes(t, keys.PEMTypePKCS8, smallPKCS8), wantErr: "1024 bits"},
		{name: "ErrP384SEC1", data: pemBytes(t, keys.PEMTypeSEC1, p384SEC1), wantErr: "P-384", wantIs: keys.ErrUnsupported},
		{name: "ErrP384PKCS8", data: pemBytes(t, keys.PEMTypePKCS8, p384PKCS8), wantErr: "P-384", wantIs: keys.ErrUnsupported},
		{name: "ErrTwoKeys", data: append(bytesClone(edPEM), pemBytes(t, keys.PEMTypeSEC1, p384SEC1)...), wantErr: "more than one private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "bad.pem", tc.data)
			k, err := keys.LoadFile(path)
			require.Nil(t, k)
			require.ErrorContains(t, err, tc.wantErr)
			require.ErrorContains(t, err, path)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			requireNoKeyMaterial(t, err, tc.data)
		})
	}

	t.Run("ErrMissing", func(t *testing.T) {
		_, err := keys.LoadFile(filepath.Join(t.TempDir(), "nope.pem"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d.pem")
		require.NoError(t, os.Mkdir(dir, 0o700))
		_, err := keys.LoadFile(dir)
		require.ErrorContains(t, err, dir)
	})
}

func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

func TestLoadDir(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("OK/SortedIgnoresOthersDedupes", func(t *testing.T) {
		dir := t.TempDir()
		ed, err := keys.Generate(keys.EdDSA)
		require.NoError(t, err)
		es, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		edPath, edKey := writeKey(t, dir, ed, t0)
		esPath, esKey := writeKey(t, dir, es, t0)

		// The same key under another name, and files LoadDir must skip.
		data, err := os.ReadFile(edPath)
		require.NoError(t, err)
		writeFile(t, dir, "zz-copy.pem", data)
		writeFile(t, dir, "README.txt", []byte("not a key"))
		writeFile(t, dir, "eddsa.pem.bak", []byte("garbage"))
		require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.pem"), 0o700))
		writeFile(t, filepath.Join(dir, "sub.pem"), "nested.pem", []byte("garbage"))

		loaded, err := keys.LoadDir(dir)
		require.NoError(t, err)
		require.Len(t, loaded, 2)
		// "eddsa-..." sorts before "es256-...".
		require.Equal(t, edKey.KID, loaded[0].KID)
		require.Equal(t, edPath, loaded[0].Source)
		require.Equal(t, esKey.KID, loaded[1].KID)
		require.Equal(t, esPath, loaded[1].Source)
	})

	t.Run("OK/Empty", func(t *testing.T) {
		loaded, err := keys.LoadDir(t.TempDir())
		require.NoError(t, err)
		require.Empty(t, loaded)
	})

	t.Run("ErrMissingDir", func(t *testing.T) {
		_, err := keys.LoadDir(filepath.Join(t.TempDir(), "missing"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})

	t.Run("ErrBadFile", func(t *testing.T) {
		dir := t.TempDir()
		ed, err := keys.Generate(keys.EdDSA)
		require.NoError(t, err)
		writeKey(t, dir, ed, t0)
		bad1 := writeFile(t, dir, "bad1.pem", []byte("garbage"))
		bad2 := writeFile(t, dir, "bad2.pem", []byte("more garbage"))
		loaded, err := keys.LoadDir(dir)
		require.Nil(t, loaded)
		require.ErrorContains(t, err, bad1)
		require.ErrorContains(t, err, bad2)
	})
}

func TestEnsureDevKey(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T) string // returns the dir
		wantCreated bool
	}{
		{
			name:        "OK/MissingDir",
			setup:       func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "keys") },
			wantCreated: true,
		},
		{
			name:        "OK/EmptyDir",
			setup:       func(t *testing.T) string { return t.TempDir() },
			wantCreated: true,
		},
		{
			name: "OK/OnlyOtherFiles",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				writeFile(t, dir, "README", []byte("keys go here"))
				return dir
			},
			wantCreated: true,
		},
		{
			name: "OK/Populated",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				es, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				writeKey(t, dir, es, time.Now())
				return dir
			},
			wantCreated: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			before := pemNames(t, dir)
			_, statErr := os.Stat(dir)
			dirExisted := statErr == nil

			created, path, err := keys.EnsureDevKey(dir)
			require.NoError(t, err)
			require.Equal(t, tc.wantCreated, created)
			if !tc.wantCreated {
				require.Empty(t, path)
				require.Equal(t, before, pemNames(t, dir))
				return
			}
			require.Equal(t, []string{path}, pemNames(t, dir))
			require.Equal(t, os.FileMode(0o600), fileMode(t, path))
			if !dirExisted {
				require.Equal(t, os.FileMode(0o700), fileMode(t, dir))
			}
			k, err := keys.LoadFile(path)
			require.NoError(t, err)
			require.Equal(t, keys.EdDSA, k.Alg)

			// A second call finds the key and does nothing.
			created, path, err = keys.EnsureDevKey(dir)
			require.NoError(t, err)
			require.False(t, created)
			require.Empty(t, path)
			require.Len(t, pemNames(t, dir), 1)
		})
	}

	t.Run("ErrNotADir", func(t *testing.T) {
		file := writeFile(t, t.TempDir(), "file", []byte("x"))
		_, _, err := keys.EnsureDevKey(file)
		require.Error(t, err)
		require.False(t, errors.Is(err, fs.ErrNotExist))
	})
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{name: "OK", secret: []byte(strings.Repeat("s", 32))},
		{name: "OK/Long", secret: []byte(strings.Repeat("s", 64))},
		{name: "ErrShort", secret: []byte(strings.Repeat("s", 31)), wantErr: true},
		{name: "ErrEmpty", secret: nil, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys.SecretKey(tc.secret)
			if tc.wantErr {
				require.ErrorContains(t, err, "shorter than 32 bytes")
				if len(tc.secret) > 0 {
					require.NotContains(t, err.Error(), string(tc.secret))
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, keys.HS256, k.Alg)
			require.Equal(t, keys.ThumbprintSecret(tc.secret), k.KID)
			require.Equal(t, tc.secret, k.Secret)
			require.Nil(t, k.Signer)
			require.Nil(t, k.Public)
			require.Equal(t, tc.secret, k.SigningKey())
			require.Equal(t, tc.secret, k.VerificationKey())

			tc.secret[0] = 'x' // SecretKey copied the secret
			require.Equal(t, byte('s'), k.Secret[0])
		})
	}
}

// TestLoadFile_ExposedMode: a private key file that the group or other
// users can read is reported (Key.Exposed), so that serve can refuse it in
// prod and warn in dev; the files sigil writes are never exposed.
func TestLoadFile_ExposedMode(t *testing.T) {
	dir := t.TempDir()
	signer, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	path, written, err := keys.WritePEM(dir, signer)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), written.Mode)
	require.False(t, written.Exposed())
	for _, tc := range []struct {
		mode    os.FileMode
		exposed bool
	}{
		{0o600, false}, {0o400, false}, {0o644, true}, {0o640, true}, {0o604, true}, {0o620, true},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			require.NoError(t, os.Chmod(path, tc.mode))
			k, err := keys.LoadFile(path)
			require.NoError(t, err)
			require.Equal(t, tc.mode, k.Mode)
			require.Equal(t, tc.exposed, k.Exposed())
		})
	}
}
