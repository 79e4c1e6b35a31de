package keys_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
)

func TestParseJWKS_OK(t *testing.T) {
	var all []*keys.Key
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256} {
		signer, err := keys.Generate(alg)
		require.NoError(t, err)
		_, k, err := keys.WritePEM(t.TempDir(), signer)
		require.NoError(t, err)
		all = append(all, k)
	}
	set, err := keys.NewSet(all, "")
	require.NoError(t, err)
	raw, err := json.Marshal(set.JWKS())
	require.NoError(t, err)

	parsed, err := keys.ParseJWKS(raw)
	require.NoError(t, err)
	require.Len(t, parsed, 3)
	for _, p := range parsed {
		orig, ok := set.Lookup(p.KID)
		require.True(t, ok, p.KID)
		require.Equal(t, orig.Alg, p.Alg)
		require.Equal(t, orig.Public, p.Public)
		require.Nil(t, p.Signer)
	}
}

func TestParseJWKS_Err(t *testing.T) {
	signer, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	_, k, err := keys.WritePEM(t.TempDir(), signer)
	require.NoError(t, err)
	good, err := k.JWK()
	require.NoError(t, err)
	enc := func(mut func(m map[string]any)) string {
		b, _ := json.Marshal(good)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		mut(m)
		out, _ := json.Marshal(map[string]any{"keys": []any{m}})
		return string(out)
	}
	tests := []struct {
		name, jwks, want string
	}{
		{"NotJSON", "{", "parse jwks"},
		{"KIDNotThumbprint", enc(func(m map[string]any) { m["kid"] = "other" }), "thumbprint"},
		{"PrivateMember", enc(func(m map[string]any) { m["d"] = "AAAA" }), "private"},
		{"UseEnc", enc(func(m map[string]any) { m["use"] = "enc" }), "use"},
		{"AlgMismatch", enc(func(m map[string]any) { m["alg"] = "HS256" }), "alg"},
		{"ShortX", enc(func(m map[string]any) { m["x"] = "AAAA" }), "32 bytes"},
		{"Oct", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, "symmetric"},
		{"ECOffCurve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}]}`, "P-256 point"},
		{"UnknownKty", `{"keys":[{"kty":"XYZ"}]}`, "XYZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keys.ParseJWKS([]byte(tt.jwks))
			require.ErrorContains(t, err, tt.want)
		})
	}
}
