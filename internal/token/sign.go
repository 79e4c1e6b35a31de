package token

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

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
	scratch := claimsScratch.Get().(*[]byte)
	defer claimsScratch.Put(scratch)
	payload, ok := appendClaimsJSON((*scratch)[:0], c)
	if ok && cap(payload) <= maxClaimsScratch {
		*scratch = payload[:0] // keep a buffer that grew, up to the bound
	}
	if !ok {
		var err error
		if payload, err = c.MarshalJSON(); err != nil {
			return "", err
		}
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512/8*2))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	// The signing input is buf's bytes as they are: the methods read it
	// during the call and keep nothing; what is appended after it lies
	// past its end (or in a new array, if buf grows).
	sig, err := method.Sign(unsafe.String(unsafe.SliceData(buf), len(buf)), signingKey)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	// The token is buf's bytes: nothing writes to buf any more.
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

// claimsScratch holds buffers for the claims' JSON, which lives only until
// it is encoded into the token: one per concurrent mint instead of one per
// mint (appendClaimsJSON's appends through a pointer would move a stack
// buffer to the heap).
var claimsScratch = sync.Pool{New: func() any {
	b := make([]byte, 0, 768)
	return &b
}}

// maxClaimsScratch bounds the buffers claimsScratch keeps: a large token's
// buffer goes to the garbage collector.
const maxClaimsScratch = 16 << 10

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

// appendClaimsJSON appends what c.MarshalJSON returns, byte for byte
// (TestClaimsJSONMatchesMarshalJSON), for the usual claims of a minted
// token, without reflection: strings of printable ASCII that JSON writes
// as they are (no quote, backslash or <, >, & that encoding/json escapes),
// at most one audience, params of such strings and booleans, no security
// policies, and golang-jwt's default whole-second precision. It returns
// false for anything else, and MarshalJSON encodes the claims.
//
// The order is encoding/json's for MarshalJSON's struct: the registered
// claims but aud, Claims' own fields in declaration order, then aud (the
// shallower field that hides RegisteredClaims.Audience comes last).
func appendClaimsJSON(b []byte, c *Claims) ([]byte, bool) {
	if jwt.TimePrecision != time.Second || len(c.Audience) > 1 || len(c.SecurityPolicies) > 0 {
		return nil, false
	}
	w := claimsWriter{b: append(b, '{'), ok: true}
	w.str("iss", c.Issuer, true)
	w.str("sub", c.Subject, true)
	w.date("exp", c.ExpiresAt)
	w.date("nbf", c.NotBefore)
	w.date("iat", c.IssuedAt)
	w.str("jti", c.ID, true)
	w.str("tt", c.Kind, false)
	w.str("scope", c.Scope, true)
	w.str("client_id", c.ClientID, true)
	w.str("tid", c.TID, true)
	w.str("dashboardId", c.DashboardID, true)
	w.str("reportId", c.ReportID, true)
	w.str("appId", c.AppID, true)
	if c.ReadOnly {
		w.name("readOnly")
		w.b = append(w.b, "true"...)
	}
	if len(c.Params) > 0 {
		w.params(c.Params)
	}
	w.date("auth_time", c.AuthTime)
	w.str("cst", c.SecretTag, true)
	if len(c.Audience) == 1 {
		w.str("aud", c.Audience[0], false)
	}
	if !w.ok {
		return nil, false
	}
	return append(w.b, '}'), true
}

// claimsWriter appends the members of one JSON object; ok turns false at
// the first value it cannot write as encoding/json would.
type claimsWriter struct {
	b     []byte
	ok    bool
	comma bool
}

func (w *claimsWriter) name(n string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.b = append(w.b, '"')
	w.b = append(w.b, n...)
	w.b = append(w.b, '"', ':')
}

// str writes a string member; omitEmpty as its json tag's omitempty.
func (w *claimsWriter) str(n, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.name(n)
	w.quoted(v)
}

// quoted writes v in quotes, or clears ok if JSON would escape a byte of it.
func (w *claimsWriter) quoted(v string) {
	if !plainJSON(v) {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

// date writes a NumericDate as golang-jwt does at whole-second precision:
// the Unix seconds of the instant truncated to the second.
func (w *claimsWriter) date(n string, d *jwt.NumericDate) {
	if d == nil {
		return
	}
	w.name(n)
	w.b = strconv.AppendInt(w.b, d.Truncate(time.Second).Unix(), 10)
}

// params writes a map of plain strings and booleans with its keys sorted,
// as encoding/json writes a map.
func (w *claimsWriter) params(m map[string]any) {
	if len(m) > MaxParams {
		w.ok = false
		return
	}
	var buf [MaxParams]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.name("params")
	w.b = append(w.b, '{')
	for i, k := range keys {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.quoted(k)
		w.b = append(w.b, ':')
		switch v := m[k].(type) {
		case string:
			w.quoted(v)
		case bool:
			w.b = strconv.AppendBool(w.b, v)
		default:
			w.ok = false
		}
	}
	w.b = append(w.b, '}')
}

// plainJSON reports whether encoding/json writes s as it is between quotes:
// printable ASCII without '"', '\\' and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainJSONByte[s[i]] {
			return false
		}
	}
	return true
}

// plainJSONByte holds the bytes plainJSON lets through (one load per byte).
var plainJSONByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
