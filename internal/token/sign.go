package token

import (
	"encoding/base64"
	"encoding/json"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// signJWT returns the compact JWS of c signed by method with signingKey
// under kid: byte for byte what jwt.NewWithClaims(method, &c) with
// Header["kid"] = kid and SignedString write (TestSignJWTMatchesGolangJWT),
// without their per-token work that never changes or changes nothing: the
// header (one per key) is encoded once and kept, and the claims' JSON is
// taken from Claims.MarshalJSON directly, where json.Marshal(&c) would call
// it and then compact its already compact output again.
func signJWT(method jwt.SigningMethod, kid string, signingKey any, c *Claims) (string, error) {
	header, err := headerSegment(method.Alg(), kid)
	if err != nil {
		return "", err
	}
	payload, err := c.MarshalJSON()
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512/8*2))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := method.Sign(string(buf), signingKey)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// headerKey names one JOSE header: an algorithm and a key id.
type headerKey struct{ alg, kid string }

// headerSegments keeps base64url(JSON header) per alg and kid; it holds one
// entry per signing key ever active in this process.
var headerSegments sync.Map // headerKey → string

// headerSegment is the first segment golang-jwt writes for alg and kid: its
// header map {"typ":"JWT","alg":alg} plus kid, as json.Marshal writes a map
// (keys sorted), base64url without padding.
func headerSegment(alg, kid string) (string, error) {
	k := headerKey{alg, kid}
	if v, ok := headerSegments.Load(k); ok {
		return v.(string), nil
	}
	h, err := json.Marshal(map[string]any{"typ": "JWT", "alg": alg, "kid": kid})
	if err != nil {
		return "", err
	}
	seg := base64.RawURLEncoding.EncodeToString(h)
	headerSegments.Store(k, seg)
	return seg, nil
}
