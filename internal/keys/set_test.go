package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

func TestNewSet(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)

	edOld := newKey(t, keys.EdDSA, t0)
	esNew := newKey(t, keys.ES256, t1)
	edTie := newKey(t, keys.EdDSA, t1)
	hsNewest := newKey(t, keys.HS256, t2)
	hsOld := newKey(t, keys.HS256, t0)
	greaterTie := esNew
	if edTie.KID > esNew.KID {
		greaterTie = edTie
	}
	// An ES256 label on an Ed25519 key.
	mislabelled := *edOld
	mislabelled.Alg = keys.ES256
	// A public key that is not the signer's.
	mismatched := *edOld
	mismatched.Public = esNew.Public

	tests := []struct {
		name       string
		keys       []*keys.Key
		activeKID  string
		wantActive *keys.Key
		wantLen    int
		wantErr    string
		wantIs     error
	}{
		{name: "OK/NewestAsymmetric", keys: []*keys.Key{edOld, esNew}, wantActive: esNew, wantLen: 2},
		{name: "OK/NewestAsymmetricAnyOrder", keys: []*keys.Key{esNew, edOld}, wantActive: esNew, wantLen: 2},
		{name: "OK/TieGreatestKID", keys: []*keys.Key{edTie, esNew, edOld}, wantActive: greaterTie, wantLen: 3},
		{name: "OK/NewerHS256NotActive", keys: []*keys.Key{hsNewest, edOld}, wantActive: edOld, wantLen: 2},
		{name: "OK/OnlyHS256", keys: []*keys.Key{hsOld}, wantActive: hsOld, wantLen: 1},
		{name: "OK/OnlyHS256Newest", keys: []*keys.Key{hsOld, hsNewest}, wantActive: hsNewest, wantLen: 2},
		{name: "OK/ExplicitHS256", keys: []*keys.Key{edOld, esNew, hsOld}, activeKID: hsOld.KID, wantActive: hsOld, wantLen: 3},
		{name: "OK/ExplicitOlder", keys: []*keys.Key{edOld, esNew}, activeKID: edOld.KID, wantActive: edOld, wantLen: 2},
		{name: "OK/DuplicateKID", keys: []*keys.Key{edOld, edOld, esNew}, wantActive: esNew, wantLen: 2},
		{name: "ErrNoKeys", keys: nil, wantIs: keys.ErrNoKeys},
		{name: "ErrUnknownActive", keys: []*keys.Key{edOld}, activeKID: "no-such-kid", wantErr: `"no-such-kid"`, wantIs: keys.ErrUnknownKID},
		{name: "ErrActiveWrongCase", keys: []*keys.Key{edOld}, activeKID: swapCase(edOld.KID), wantIs: keys.ErrUnknownKID},
		{name: "ErrNilKey", keys: []*keys.Key{edOld, nil}, wantErr: "nil key"},
		{name: "ErrEmptyKID", keys: []*keys.Key{{Alg: keys.HS256, Secret: []byte("s")}}, wantErr: "empty kid"},
		{name: "ErrUnknownAlg", keys: []*keys.Key{{KID: "k", Alg: "none"}}, wantIs: keys.ErrUnsupported},
		{name: "ErrHS256NoSecret", keys: []*keys.Key{{KID: "k", Alg: keys.HS256}}, wantErr: "without a secret"},
		{name: "ErrNoSigner", keys: []*keys.Key{{KID: "k", Alg: keys.EdDSA, Public: edOld.Public}}, wantErr: "without a signer"},
		{name: "ErrAlgMismatch", keys: []*keys.Key{&mislabelled}, wantErr: "does not match"},
		{name: "ErrPublicMismatch", keys: []*keys.Key{&mismatched}, wantErr: "does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := keys.NewSet(tc.keys, tc.activeKID)
			if tc.wantErr != "" || tc.wantIs != nil {
				require.Nil(t, s)
				require.Error(t, err)
				if tc.wantErr != "" {
					require.ErrorContains(t, err, tc.wantErr)
				}
				if tc.wantIs != nil {
					require.ErrorIs(t, err, tc.wantIs)
				}
				return
			}
			require.NoError(t, err)
			require.Same(t, tc.wantActive, s.Active())
			require.Len(t, s.All(), tc.wantLen)
		})
	}
}

// swapCase flips the case of every letter of s.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

func TestSet_Lookup(t *testing.T) {
	now := time.Now()
	ed, hs := newKey(t, keys.EdDSA, now), newKey(t, keys.HS256, now)
	s, err := keys.NewSet([]*keys.Key{ed, hs}, "")
	require.NoError(t, err)

	tests := []struct {
		name   string
		kid    string
		want   *keys.Key
		wantOK bool
	}{
		{name: "OK", kid: ed.KID, want: ed, wantOK: true},
		{name: "OK/HS256", kid: hs.KID, want: hs, wantOK: true},
		{name: "ErrNotFound", kid: "nope"},
		{name: "ErrEmpty", kid: ""},
		{name: "ErrCaseSensitive", kid: swapCase(ed.KID)},
		{name: "ErrPrefix", kid: ed.KID[:16]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := s.Lookup(tc.kid)
			require.Equal(t, tc.wantOK, ok)
			require.Same(t, tc.want, k)
		})
	}

	t.Run("NoAlloc", func(t *testing.T) {
		kid := ed.KID
		allocs := testing.AllocsPerRun(1000, func() {
			_, _ = s.Lookup(kid)
			_, _ = s.Lookup("nope")
		})
		require.Zero(t, allocs)
	})
}

func TestSet_AllAlgorithms(t *testing.T) {
	now := time.Now()
	in := []*keys.Key{
		newKey(t, keys.HS256, now),
		newKey(t, keys.ES256, now),
		newKey(t, keys.EdDSA, now),
		newKey(t, keys.ES256, now),
	}
	s, err := keys.NewSet(in, "")
	require.NoError(t, err)

	all := s.All()
	require.Len(t, all, 4)
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].KID, all[i].KID)
	}
	require.Equal(t, []string{keys.ES256, keys.EdDSA, keys.HS256}, s.Algorithms())

	// The returned slices belong to the caller.
	all[0] = nil
	algs := s.Algorithms()
	algs[0] = "none"
	require.NotNil(t, s.All()[0])
	require.Equal(t, keys.ES256, s.Algorithms()[0])
}

func TestSet_JWKS(t *testing.T) {
	now := time.Now()
	ed := newKey(t, keys.EdDSA, now)
	es := newKey(t, keys.ES256, now)
	rs := newKey(t, keys.RS256, now)
	hs := newKey(t, keys.HS256, now.Add(time.Hour))

	t.Run("OK", func(t *testing.T) {
		s, err := keys.NewSet([]*keys.Key{ed, es, rs, hs}, hs.KID)
		require.NoError(t, err)

		raw, err := json.Marshal(s.JWKS())
		require.NoError(t, err)
		require.True(t, json.Valid(raw))
		require.NotContains(t, string(raw), keys.HS256)
		require.NotContains(t, string(raw), hs.KID)
		require.NotContains(t, string(raw), `"oct"`)

		var doc struct {
			Keys []map[string]string `json:"keys"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		require.Len(t, doc.Keys, 3)

		byKID := map[string]*keys.Key{ed.KID: ed, es.KID: es, rs.KID: rs}
		for _, j := range doc.Keys {
			k := byKID[j["kid"]]
			require.NotNil(t, k, "unexpected kid %q", j["kid"])
			delete(byKID, j["kid"])
			require.Equal(t, "sig", j["use"])
			require.Equal(t, k.Alg, j["alg"])
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				require.NotContains(t, j, private)
			}
			pub := rebuildPublicKey(t, j)
			require.True(t, equalPublic(pub, k.Public), "rebuilt %s key differs", j["kty"])
		}
		require.Empty(t, byKID)
	})

	t.Run("OK/OnlyHS256", func(t *testing.T) {
		s, err := keys.NewSet([]*keys.Key{hs}, "")
		require.NoError(t, err)
		raw, err := json.Marshal(s.JWKS())
		require.NoError(t, err)
		require.JSONEq(t, `{"keys":[]}`, string(raw))
	})

	t.Run("OK/CallerOwnsSlice", func(t *testing.T) {
		s, err := keys.NewSet([]*keys.Key{ed}, "")
		require.NoError(t, err)
		s.JWKS().Keys[0].X = "tampered"
		require.NotEqual(t, "tampered", s.JWKS().Keys[0].X)
	})
}

func equalPublic(a, b any) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// rebuildPublicKey decodes a JWK's members back into a public key, as a
// relying party would.
func rebuildPublicKey(tb testing.TB, j map[string]string) any {
	tb.Helper()
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(tb, err)
		return b
	}
	switch j["kty"] {
	case "OKP":
		require.Equal(tb, "Ed25519", j["crv"])
		x := dec(j["x"])
		require.Len(tb, x, ed25519.PublicKeySize)
		return ed25519.PublicKey(x)
	case "EC":
		require.Equal(tb, "P-256", j["crv"])
		x, y := dec(j["x"]), dec(j["y"])
		require.Len(tb, x, 32)
		require.Len(tb, y, 32)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		require.NoError(tb, err)
		return pub
	case "RSA":
		return &rsa.PublicKey{
			N: new(big.Int).SetBytes(dec(j["n"])),
			E: int(new(big.Int).SetBytes(dec(j["e"])).Int64()),
		}
	}
	tb.Fatalf("unexpected kty %q", j["kty"])
	return nil
}

func TestKey_JWK_ECCoordinates(t *testing.T) {
	// Find keys whose x and whose y start with a zero byte: encoded unpadded
	// they would be 42 characters.
	var leadingZeroX, leadingZeroY bool
	for i := 0; i < 50000 && !(leadingZeroX && leadingZeroY); i++ {
		k := newKey(t, keys.ES256, time.Time{})
		point, err := k.Public.(*ecdsa.PublicKey).Bytes()
		require.NoError(t, err)
		zx, zy := point[1] == 0, point[33] == 0
		if i > 0 && !zx && !zy {
			continue
		}
		leadingZeroX, leadingZeroY = leadingZeroX || zx, leadingZeroY || zy

		j, err := k.JWK()
		require.NoError(t, err)
		require.Equal(t, "EC", j.Kty)
		require.Equal(t, "P-256", j.Crv)
		require.Len(t, j.X, 43)
		require.Len(t, j.Y, 43)
		raw, err := json.Marshal(j)
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.Unmarshal(raw, &m))
		require.True(t, equalPublic(rebuildPublicKey(t, m), k.Public))
	}
	require.True(t, leadingZeroX, "no key with a leading zero x found")
	require.True(t, leadingZeroY, "no key with a leading zero y found")
}

func TestKey_JWK_HS256(t *testing.T) {
	hs := newKey(t, keys.HS256, time.Time{})
	_, err := hs.JWK()
	require.ErrorContains(t, err, "never published")
}

func TestKey_String(t *testing.T) {
	hs := newKey(t, keys.HS256, time.Time{})
	ed := newKey(t, keys.EdDSA, time.Time{})
	ed.Source = "/k/eddsa.pem"
	seed := ed.Signer.(ed25519.PrivateKey).Seed()

	tests := []struct {
		name     string
		key      *keys.Key
		material []byte
	}{
		{name: "OK/HS256", key: hs, material: hs.Secret},
		{name: "OK/EdDSA", key: ed, material: seed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				out := fmt.Sprintf(verb, tc.key)
				require.Contains(t, out, tc.key.KID)
				require.NotContains(t, out, string(tc.material))
				require.NotContains(t, out, fmt.Sprint(tc.material[:4])[1:8])
				require.NotContains(t, out, base64.StdEncoding.EncodeToString(tc.material)[:12])
			}
		})
	}
	require.Equal(t, "EdDSA key "+ed.KID+" (/k/eddsa.pem)", ed.String())
	require.Equal(t, "HS256 key "+hs.KID, hs.String())
}
