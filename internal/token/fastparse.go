package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/keys"
)

// fastParse is steps 3 and 4 for a token whose header and payload passed
// checkHeader and checkPayload: the claims are built from the payload's
// already scanned members (no second base64 decoding, no header map, no
// encoding/json), the signature is checked by golang-jwt's signing method
// and the claims by golang-jwt's validator with the parser's options, so
// the result is golangJWTParse's: the same claims, the same error (text and
// chain). It returns nil claims and a nil error when it leaves the token to
// golangJWTParse: a shape it does not decode itself (see decodeClaims), or
// a signature segment that is not strict base64url. Callers only use it for
// a header whose members are all strings (checkedHeader.plain), which
// golang-jwt's json.Unmarshal of the header is sure to accept.
//
// The claims are built in box (a new one, or a cache slot's whose payload
// already holds the payload's text: the claims' strings are then views of
// the slot's copy, and no other copy is made).
func (v *Verifier) fastParse(raw string, d2 int, k *keys.Key, s *scanner, members []member, box *claimsBox) (*Claims, error) {
	method := v.method(k.Alg)
	if method == nil {
		return nil, nil
	}
	c := &box.c
	s.shared = &box.payload
	if !s.decodeClaims(members, box) {
		return nil, nil
	}
	seg := raw[d2+1:]
	sig := make([]byte, strictB64.DecodedLen(len(seg)))
	n, err := strictB64.Decode(sig, unsafe.Slice(unsafe.StringData(seg), len(seg)))
	if err != nil {
		return nil, nil // golang-jwt: "could not base64 decode signature"
	}
	// As ParseWithClaims wraps them (newError("", kind, err)).
	if err := method.Verify(raw[:d2], sig[:n], k.VerificationKey()); err != nil {
		return c, fmt.Errorf("%w: %w", jwt.ErrTokenSignatureInvalid, err)
	}
	if err := v.validator.Validate(c); err != nil {
		return c, fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err)
	}
	return c, nil
}

// signingMethods are golang-jwt's methods of algorithms, in that order, as
// ParseUnverified finds them (jwt.GetSigningMethod).
var signingMethods = func() []jwt.SigningMethod {
	m := make([]jwt.SigningMethod, len(algorithms))
	for i, alg := range algorithms {
		m[i] = jwt.GetSigningMethod(alg)
	}
	return m
}()

// method returns golang-jwt's signing method of alg, or nil.
func (v *Verifier) method(alg string) jwt.SigningMethod {
	for i, a := range algorithms {
		if a == alg {
			return signingMethods[i]
		}
	}
	return nil
}

// decodeClaims sets c from the payload's top-level members as encoding/json
// (with UseNumber, as golang-jwt decodes claims) would, or reports false for
// a shape it leaves to encoding/json: a member that folds to "cst" but is
// not a plain "cst" string, a non-integer NumericDate that golang-jwt's
// UnmarshalJSON refuses, an aud array that ClaimStrings refuses, or a
// securityPolicies element other than an object of plain "name" (a string)
// and "params" (an object) members. checkPayload has run: the payload is
// valid strict JSON, every claim name of Claims is spelt exactly and holds
// its JSON type, and times are sane numbers; a member of no claim's name is
// skipped, as encoding/json skips unknown fields.
func (s *scanner) decodeClaims(members []member, box *claimsBox) bool {
	c := &box.c
	b := s.b
	ok := true
	for _, m := range members {
		name := s.raw(m.name)
		if name == nil { // escapes or non-ASCII: no claim name (checkPayload)
			if s.foldEqString(m.name, "cst") {
				return false
			}
			continue
		}
		switch string(name) {
		case "iss":
			c.Issuer = s.text(m.val)
		case "sub":
			c.Subject = s.text(m.val)
		case "jti":
			c.ID = s.text(m.val)
		case "tt":
			c.Kind = s.text(m.val)
		case "scope":
			c.Scope = s.text(m.val)
		case "client_id":
			c.ClientID = s.text(m.val)
		case "tid":
			c.TID = s.text(m.val)
		case "dashboardId":
			c.DashboardID = s.text(m.val)
		case "reportId":
			c.ReportID = s.text(m.val)
		case "appId":
			c.AppID = s.text(m.val)
		case "aud":
			if m.kind == kindString {
				box.aud[0] = s.text(m.val)
				c.Audience = box.aud[:1:1]
			} else if c.Audience.UnmarshalJSON(bytes.Clone(b[m.vstart:m.vend])) != nil {
				// A copy: the payload is on Verify's stack.
				return false
			}
		case "exp":
			c.ExpiresAt, ok = numericDate(b[m.vstart:m.vend], &box.dates[0])
		case "nbf":
			c.NotBefore, ok = numericDate(b[m.vstart:m.vend], &box.dates[1])
		case "iat":
			c.IssuedAt, ok = numericDate(b[m.vstart:m.vend], &box.dates[2])
		case "auth_time":
			c.AuthTime, ok = numericDate(b[m.vstart:m.vend], &box.dates[3])
		case "readOnly":
			c.ReadOnly = b[m.vstart] == 't'
		case "params":
			s.i = int(m.vstart)
			c.Params, ok = s.anyObject()
		case "securityPolicies":
			s.i = int(m.vstart)
			c.SecurityPolicies, ok = s.policies()
		case "cst":
			if m.kind != kindString {
				return false // null (no-op) or a type error: encoding/json's call
			}
			c.SecretTag = s.text(m.val)
		default:
			if s.foldEqString(m.name, "cst") {
				return false
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// claimsBox is a token's claims together with the storage of its dates, of
// a one-string audience and of its strings: two allocations for what were
// a dozen or more, so a
// cached token is fewer objects for the collector to mark and sits in one
// place in memory. Each slot is used once: checkPayload refused duplicate
// members.
type claimsBox struct {
	c     Claims
	dates [4]jwt.NumericDate // exp, nbf, iat, auth_time
	aud   [1]string
	// payload is the payload's text, of which the claims' plain strings
	// are substrings (scanner.shared).
	payload string
}

// numericDate decodes a NumericDate into d as golang-jwt's UnmarshalJSON
// does: an integer of at most 15 digits (exact in a float64, so ParseFloat
// and math.Modf give it back with no fraction) directly, anything else by
// that UnmarshalJSON; d, or false if it refuses the number.
func numericDate(num []byte, d *jwt.NumericDate) (*jwt.NumericDate, bool) {
	if len(num) > 0 && len(num) <= 15 {
		var n int64
		digits := true
		for _, ch := range num {
			if ch < '0' || ch > '9' {
				digits = false
				break
			}
			n = n*10 + int64(ch-'0')
		}
		if digits {
			*d = *jwt.NewNumericDate(time.Unix(n, 0))
			return d, true
		}
	}
	if d.UnmarshalJSON(bytes.Clone(num)) != nil { // a copy: num is on Verify's stack
		return nil, false
	}
	return d, true
}

// anyValue decodes the validated JSON value at s.i as encoding/json decodes
// into an interface{} with UseNumber: map[string]any, []any, string,
// json.Number, bool or nil.
func (s *scanner) anyValue() (any, bool) {
	if s.i >= len(s.b) {
		return nil, false
	}
	switch s.b[s.i] {
	case '{':
		return s.anyObject()
	case '[':
		return s.anyArray()
	case '"':
		v, d := s.str()
		if d != "" {
			return nil, false
		}
		return s.text(v), true
	case 't':
		return true, s.literal("true") == ""
	case 'f':
		return false, s.literal("false") == ""
	case 'n':
		return nil, s.literal("null") == ""
	default:
		start := s.i
		if s.number() != "" {
			return nil, false
		}
		return json.Number(string(s.b[start:s.i])), true
	}
}

// anyObject decodes the validated JSON object at s.i into a new (non-nil)
// map, as encoding/json does into a nil map[string]any.
func (s *scanner) anyObject() (map[string]any, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, false
	}
	s.i++
	m := make(map[string]any)
	if s.consume('}') {
		return m, true
	}
	for {
		s.ws()
		name, d := s.str()
		if d != "" || !s.consume(':') {
			return nil, false
		}
		s.ws()
		val, ok := s.anyValue()
		if !ok {
			return nil, false
		}
		m[s.text(name)] = val
		if s.consume(',') {
			continue
		}
		return m, s.consume('}')
	}
}

// anyArray decodes the validated JSON array at s.i into a new (non-nil)
// []any, as encoding/json does into an interface{}.
func (s *scanner) anyArray() ([]any, bool) {
	s.i++ // '['
	a := make([]any, 0)
	if s.consume(']') {
		return a, true
	}
	for {
		s.ws()
		val, ok := s.anyValue()
		if !ok {
			return nil, false
		}
		a = append(a, val)
		if s.consume(',') {
			continue
		}
		return a, s.consume(']')
	}
}

// policies decodes the validated securityPolicies array at s.i when every
// element is an object whose members are a plain "name" string or a plain
// "params" object; anything else (null, another member, a case variant) is
// left to encoding/json (false).
func (s *scanner) policies() ([]Policy, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return nil, false
	}
	s.i++
	ps := make([]Policy, 0, 1)
	if s.consume(']') {
		return ps, true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '{' {
			return nil, false
		}
		s.i++
		var p Policy
		if !s.consume('}') {
			for {
				s.ws()
				name, d := s.str()
				if d != "" || !s.consume(':') {
					return nil, false
				}
				s.ws()
				switch string(s.raw(name)) {
				case "name":
					v, d := s.str()
					if d != "" {
						return nil, false
					}
					p.Name = s.text(v)
				case "params":
					m, ok := s.anyObject()
					if !ok {
						return nil, false
					}
					p.Params = m
				default:
					return nil, false
				}
				if s.consume(',') {
					continue
				}
				if !s.consume('}') {
					return nil, false
				}
				break
			}
		}
		ps = append(ps, p)
		if s.consume(',') {
			continue
		}
		return ps, s.consume(']')
	}
}
