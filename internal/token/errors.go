package token

import "errors"

// ErrInvalidToken is matched (errors.Is) by every verification failure that
// is the token's fault, as opposed to a failure of a dependency such as the
// revocation store. Callers map it to 401.
var ErrInvalidToken = errors.New("token: invalid token")

// Verification failures. Each also satisfies errors.Is(err, ErrInvalidToken).
var (
	// ErrMalformed reports a token that is too large, not three base64url
	// segments, not strictly encoded, or whose header or payload is not a
	// strict JSON object.
	ErrMalformed error = &kindError{reason: "malformed", msg: "token: malformed"}
	// ErrHeader reports a header with a missing, unknown or mismatched alg,
	// a missing kid, a bad typ, a crit member, or duplicate members.
	ErrHeader error = &kindError{reason: "header", msg: "token: bad header"}
	// ErrUnknownKey reports a kid that selects no loaded key.
	ErrUnknownKey error = &kindError{reason: "unknown_key", msg: "token: unknown key"}
	// ErrSignature reports a signature that does not verify.
	ErrSignature error = &kindError{reason: "signature", msg: "token: bad signature"}
	// ErrExpired reports a token past its exp (plus leeway).
	ErrExpired error = &kindError{reason: "expired", msg: "token: expired"}
	// ErrNotYetValid reports a token before its nbf, or issued (iat) in the
	// future, beyond the leeway.
	ErrNotYetValid error = &kindError{reason: "not_yet_valid", msg: "token: not yet valid"}
	// ErrIssuer reports an iss other than the configured issuer.
	ErrIssuer error = &kindError{reason: "issuer", msg: "token: wrong issuer"}
	// ErrAudience reports an aud that does not contain the configured audience.
	ErrAudience error = &kindError{reason: "audience", msg: "token: wrong audience"}
	// ErrClaims reports claims that are missing, ill-typed, duplicated or
	// inconsistent with the token kind.
	ErrClaims error = &kindError{reason: "claims", msg: "token: bad claims"}
	// ErrRevoked reports a token whose jti or tid is denylisted or that was
	// issued before a revocation cutoff. Revocation implementations return
	// errors wrapping it.
	ErrRevoked error = &kindError{reason: "revoked", msg: "token: revoked"}
)

// kindError is the type of the sentinels above: a stable reason label and a
// message, matching ErrInvalidToken.
type kindError struct {
	reason string
	msg    string
}

func (e *kindError) Error() string { return e.msg }

// Is makes every sentinel match ErrInvalidToken.
func (e *kindError) Is(target error) bool { return target == ErrInvalidToken }

// detailError is a failure of one kind with a fixed detail (never token text)
// and an optional cause (for errors.Is and logs).
type detailError struct {
	kind   error
	detail string
	cause  error
	// claims are the genuine token's, for an expired or revoked one (withClaims).
	claims *Claims
}

func (e *detailError) Error() string {
	s := e.kind.Error()
	if e.detail != "" {
		s += ": " + e.detail
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *detailError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func fail(kind error, detail string) error { return &detailError{kind: kind, detail: detail} }

func failCause(kind error, detail string, cause error) error {
	return &detailError{kind: kind, detail: detail, cause: cause}
}

// Reason returns a short stable label for err, for metrics and logs: "ok"
// for nil; "malformed", "header", "unknown_key", "signature", "expired",
// "not_yet_valid", "issuer", "audience", "claims" or "revoked" for a token
// failure ("invalid" if it names no particular kind); "unavailable" for any
// other error, such as a revocation store failure.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	var k *kindError
	if errors.As(err, &k) {
		return k.reason
	}
	if errors.Is(err, ErrInvalidToken) {
		return "invalid"
	}
	return "unavailable"
}

// withClaims attaches c to err, a rejection of the genuine token c (a
// *detailError, as fail and failCause make them: no allocation).
func withClaims(err error, c *Claims) error {
	if d, ok := err.(*detailError); ok {
		d.claims = c
	}
	return err
}

// RejectedClaims returns the claims of a genuine token — its signature,
// issuer, audience and claims are good — that Verify rejected as expired
// (ErrExpired) or revoked (ErrRevoked), so that a caller learns its record
// id (tid) without parsing it again; false for any other error. The claims
// are shared, like Verify's: treat them as read-only.
func RejectedClaims(err error) (*Claims, bool) {
	var d *detailError
	if errors.As(err, &d) && d.claims != nil {
		return d.claims, true
	}
	return nil, false
}
