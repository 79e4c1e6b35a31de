package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/keys"
)

// Leeway bounds for VerifierConfig.Leeway.
const (
	DefaultLeeway = 30 * time.Second
	MaxLeeway     = 5 * time.Minute
)

// algorithms are the JWS algorithms sigil signs and verifies with.
var algorithms = []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256}

// Revocation is consulted after the signature and claims are valid (DESIGN
// §4 step 5). Check returns nil if the token is live, an error wrapping
// ErrRevoked if its jti or tid is denylisted or it was issued before a
// cutoff, or any other error (a store failure, stale replica), which Verify
// returns wrapped unchanged so that callers can map it to 503.
type Revocation interface {
	Check(ctx context.Context, c *Claims) error
}

// MemoRevocation is a Revocation that keeps what it derives from a token's
// claims alone (the memory store's cutoff keys) in a Memo beside the
// cached token, so that a repeat does not derive it again. CheckMemo is
// Check: it consults the current denylist and cutoffs on every call; only
// the derivation is remembered, never a verdict. m may be nil (the token
// was not cached).
type MemoRevocation interface {
	Revocation
	CheckMemo(ctx context.Context, c *Claims, m *Memo) error
}

// Records confirms that a token of a registered kind (report, app-view,
// api) is the live generation of its record (DESIGN §10: a registered kind
// is valid only with its live record). CheckRecord returns nil if the
// record c.TID exists, is not revoked, is of c's kind and binding, and its
// current jti is c's; an error wrapping ErrRevoked if not; any other error
// (a store failure), which Verify returns wrapped so that callers answer 503.
type Records interface {
	CheckRecord(ctx context.Context, c *Claims) error
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer and Audience are the required iss and an aud the token must
	// contain. If either is empty, or Keys is nil, every Verify fails with a
	// configuration error (not ErrInvalidToken): fail closed.
	Issuer, Audience string
	// Keys resolves the header's kid to a loaded key.
	Keys Keys
	// Revocation is checked last by Verify; nil skips the check (offline
	// verification only).
	Revocation Revocation
	// Records, when set, is asked about every registered token that passes
	// steps 1–4 before the cache keeps it, so a cached token costs no record
	// lookup: what later kills a record's token (regenerate, delete, revoke)
	// also denylists its jti or tid, which step 5 checks on every request.
	// nil skips it (offline verification without the registry: a registered
	// token then needs only a tid).
	Records Records
	// Leeway is the clock skew allowed on exp, nbf and iat: zero means
	// DefaultLeeway, negative means none, and it is capped at MaxLeeway.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the verified-token cache; 0 disables it. A hit skips
	// steps 1–4 (the token text is byte-identical to one that passed them,
	// its key is still loaded, and it is inside [nbf, exp]) but never step 5.
	CacheSize int
	// EmbedMaxLifetime is the longest exp - iat an embed token may have
	// (tokens.embed_max_expiry); a longer one is rejected with ErrClaims
	// even though its signature is good, so that a leaked key or a bug in
	// one minting path cannot make decade-long tokens. Zero means
	// DefaultEmbedMaxLifetime. Registered kinds are checked against their
	// record by the registry (and may omit exp); any other kind must have
	// an exp.
	EmbedMaxLifetime time.Duration
	// Console makes this the verifier of console tokens (KindConsole): it
	// accepts that kind only, with at most ConsoleMaxLifetime between iat
	// and exp (zero: DefaultConsoleMaxLifetime). Without it, a console
	// token is refused (ErrClaims) whatever its audience: the registry API
	// is the only place one is good for.
	Console            bool
	ConsoleMaxLifetime time.Duration
}

// DefaultConsoleMaxLifetime is the default of VerifierConfig.ConsoleMaxLifetime.
const DefaultConsoleMaxLifetime = time.Hour

// DefaultEmbedMaxLifetime is the default of VerifierConfig.EmbedMaxLifetime,
// the default of tokens.embed_max_expiry (DESIGN §1).
const DefaultEmbedMaxLifetime = 24 * time.Hour

// Verifier runs the verification pipeline of DESIGN §4, steps 1 to 5. It is
// safe for concurrent use.
type Verifier struct {
	iss, aud string
	keys     Keys
	rev      Revocation
	// revMemo is rev when it keeps a memo per cached token.
	revMemo  MemoRevocation
	records  Records
	leeway   time.Duration
	embedMax int64 // seconds
	console  bool
	// consoleMax is the longest exp - iat of a console token, in seconds.
	consoleMax int64
	now        func() time.Time
	cfgErr     error
	cache      *cache

	parser       *jwt.Parser // full claims validation
	parserNoTime *jwt.Parser // signature only
	keyfunc      jwt.Keyfunc
	// validator is parser's claims validation, for fastParse.
	validator *jwt.Validator
	// slowOnly turns fastParse off (tests compare both paths).
	slowOnly bool
}

// NewVerifier returns a Verifier for cfg; the golang-jwt parsers are built
// here, once.
func NewVerifier(cfg VerifierConfig) *Verifier {
	v := &Verifier{iss: cfg.Issuer, aud: cfg.Audience, keys: cfg.Keys, rev: cfg.Revocation, records: cfg.Records, now: cfg.Now}
	v.revMemo, _ = cfg.Revocation.(MemoRevocation)
	switch {
	case cfg.Leeway == 0:
		v.leeway = DefaultLeeway
	case cfg.Leeway < 0:
		v.leeway = 0
	case cfg.Leeway > MaxLeeway:
		v.leeway = MaxLeeway
	default:
		v.leeway = cfg.Leeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.embedMax = int64(DefaultEmbedMaxLifetime / time.Second)
	if cfg.EmbedMaxLifetime > 0 {
		v.embedMax = int64(cfg.EmbedMaxLifetime / time.Second)
	}
	v.console = cfg.Console
	v.consoleMax = int64(DefaultConsoleMaxLifetime / time.Second)
	if cfg.ConsoleMaxLifetime > 0 {
		v.consoleMax = int64(cfg.ConsoleMaxLifetime / time.Second)
	}
	switch {
	case v.keys == nil:
		v.cfgErr = errors.New("token: verifier has no keys")
	case v.iss == "":
		v.cfgErr = errors.New("token: verifier has no issuer")
	case v.aud == "":
		v.cfgErr = errors.New("token: verifier has no audience")
	}
	v.cache = newCache(cfg.CacheSize)
	v.keyfunc = v.lookupKey
	validation := []jwt.ParserOption{
		jwt.WithIssuer(v.iss),
		jwt.WithAudience(v.aud),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	}
	v.validator = jwt.NewValidator(validation...)
	v.parser = jwt.NewParser(slices.Concat(validation, []jwt.ParserOption{
		jwt.WithValidMethods(algorithms),
		jwt.WithStrictDecoding(),
		// Numbers in params and policies stay exact (an account id of
		// 2^53+1 must not become another account).
		jwt.WithJSONNumber(),
	})...)
	v.parserNoTime = jwt.NewParser(
		jwt.WithValidMethods(algorithms),
		jwt.WithoutClaimsValidation(),
		jwt.WithStrictDecoding(),
		// Numbers in params and policies stay exact (an account id of
		// 2^53+1 must not become another account).
		jwt.WithJSONNumber(),
	)
	return v
}

// Verify runs the full pipeline (size and encoding, header, signature,
// claims, revocation) and returns the token's claims. A token failure
// wraps one of ErrMalformed, ErrHeader, ErrUnknownKey, ErrSignature,
// ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrClaims or
// ErrRevoked, and so matches ErrInvalidToken; a revocation store failure is
// returned wrapped and does not. Errors never contain the token's text.
//
// The returned Claims may be shared with other callers (the cache hands out
// the same value for the same token): treat them as read-only.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, _, err := v.VerifyMemo(ctx, raw)
	return c, err
}

// VerifyMemo is Verify that also returns the Memo of the token's cache
// entry: nil when the verifier has no cache or did not keep this token.
func (v *Verifier) VerifyMemo(ctx context.Context, raw string) (*Claims, *Memo, error) {
	c, memo, revMemo, confirm, err := v.verifyCached(raw)
	if err != nil {
		return nil, nil, err
	}
	if v.rev != nil {
		var err error
		if v.revMemo != nil {
			err = v.revMemo.CheckMemo(ctx, c, revMemo)
		} else {
			err = v.rev.Check(ctx, c)
		}
		if err != nil {
			if errors.Is(err, ErrRevoked) {
				return nil, nil, withClaims(failCause(ErrRevoked, "", err), c)
			}
			return nil, nil, fmt.Errorf("token: revocation check: %w", err)
		}
	}
	if confirm != nil {
		// After revocation, so a revoked token (an old generation, a
		// deleted record) costs no record lookup.
		if err := v.checkRecord(ctx, c); err != nil {
			if errors.Is(err, ErrRevoked) {
				err = withClaims(err, c)
			}
			return nil, nil, err
		}
		confirm()
	}
	return c, memo, nil
}

// VerifyIgnoringExpiry runs steps 1 to 4 without enforcing exp, nbf or iat
// against the clock (they must still be sane numbers) and without the
// revocation step. invalidate-token uses it: an expired or already revoked
// genuine token is accepted (204), a forged one is not (401).
func (v *Verifier) VerifyIgnoringExpiry(_ context.Context, raw string) (*Claims, error) {
	return v.verify(raw, true)
}

// checkRecord asks Records about a registered token.
func (v *Verifier) checkRecord(ctx context.Context, c *Claims) error {
	if v.records == nil || !c.Registered() {
		return nil
	}
	if err := v.records.CheckRecord(ctx, c); err != nil {
		if errors.Is(err, ErrRevoked) {
			return failCause(ErrRevoked, "no live record", err)
		}
		return fmt.Errorf("token: record check: %w", err)
	}
	return nil
}

// verifyCached is steps 1–4, answered from the cache when the same token
// text passed them before and is still inside its validity window. confirm
// is non-nil when a registered token's record has yet to be checked
// (Records): Verify checks it after revocation and then calls confirm,
// which remembers in the cache that the record was live.
func (v *Verifier) verifyCached(raw string) (c *Claims, memo, revMemo *Memo, confirm func(), err error) {
	if v.cache == nil || len(raw) > MaxCachedTokenSize || v.cfgErr != nil {
		c, _, _, err := v.verifyToken(raw, false, false)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if v.records != nil && c.Registered() {
			confirm = func() {}
		}
		return c, nil, nil, confirm, nil
	}
	h := v.cache.key(raw)
	now := v.now().UnixNano()
	if s, ok := v.cache.get(h, raw, now); ok {
		// A key removed from the set (rotation) takes its tokens with it.
		if _, loaded := v.keys.Lookup(s.kid); loaded {
			if v.records != nil && !s.recordLive.Load() && s.claims.Registered() {
				confirm = s.confirm
			}
			return s.claims, &s.memo, &s.revMemo, confirm, nil
		}
	}
	c, kid, s, err := v.verifyToken(raw, false, true)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	signed, sig := splitSignature(raw)
	if s == nil {
		// Claims from golang-jwt's parser: a slot for the text only.
		var ok bool
		if s, ok = newSlot(signed, kid, nil); !ok {
			if v.records != nil && c.Registered() {
				confirm = func() {}
			}
			return c, nil, nil, confirm, nil
		}
	}
	s.id.sig = sha256.Sum256(bytesOf(sig))
	s.claims = c
	s.until = now + int64(noExpiryTTL)
	if c.ExpiresAt != nil {
		s.until = c.ExpiresAt.UnixNano()
	}
	s.nbf = v.validFrom(c)
	v.cache.put(h, s)
	if v.records != nil && c.Registered() {
		confirm = s.confirm
	}
	return c, &s.memo, &s.revMemo, confirm, nil
}

// validFrom is when, at the earliest, claims c pass the clock checks of
// step 4 (Unix ns; 0 if always): the later of nbf and iat, less the
// leeway, as golang-jwt checks both (iat, like nbf, must not be in the
// future). A cache hit before it is a miss, so that a clock stepped back
// (an NTP correction) past a cached token's iat refuses it as an uncached
// verifier does.
func (v *Verifier) validFrom(c *Claims) int64 {
	var from int64
	if c.NotBefore != nil {
		from = c.NotBefore.Add(-v.leeway).UnixNano()
	}
	if c.IssuedAt != nil {
		from = max(from, c.IssuedAt.Add(-v.leeway).UnixNano())
	}
	return from
}

// confirm remembers that s's record is live (Records): on the slot itself,
// which every request holding it shares, so a method value of it is the
// confirm func of verifyCached (only a registered token's uses before its
// first confirmation pay for it). A slot evicted meanwhile takes the mark
// with it, as an entry dropped by a full shard does.
func (s *slot) confirm() { s.recordLive.Store(true) }

func (v *Verifier) verify(raw string, ignoreTime bool) (*Claims, error) {
	c, _, _, err := v.verifyToken(raw, ignoreTime, false)
	return c, err
}

// verifyToken is steps 1–4; it also returns the kid of the key that
// verified. With fill, the claims are parsed into a new cache slot (s,
// holding raw's signed part, the kid and the payload text the claims'
// strings are views of: one allocation for the cache to keep) when the
// fast parser decodes them; s is nil when golang-jwt's parser did.
func (v *Verifier) verifyToken(raw string, ignoreTime, fill bool) (_ *Claims, _ string, s *slot, _ error) {
	if v.cfgErr != nil {
		return nil, "", nil, v.cfgErr
	}
	// Step 1: shape, before anything else.
	d1, d2, err := checkShape(raw)
	if err != nil {
		return nil, "", nil, err
	}
	var buf [maxDecoded]byte
	hdr, ok := decodeSegment(buf[:], raw[:d1])
	if !ok {
		return nil, "", nil, fail(ErrMalformed, "header is not strict base64url")
	}
	// Step 2: header, decoded and checked here, before golang-jwt.
	hk, err := v.checkHeader(hdr)
	if err != nil {
		return nil, "", nil, err
	}
	payload, ok := decodeSegment(buf[len(hdr):], raw[d1+1:d2])
	if !ok {
		return nil, "", nil, fail(ErrMalformed, "payload is not strict base64url")
	}
	// Step 4, the strict half: the payload golang-jwt is about to decode
	// has one reading only.
	var ms [maxObjectMembers]member
	ps := scanner{b: payload}
	members, err := checkPayload(&ps, ms[:0])
	if err != nil {
		return nil, "", nil, err
	}
	// Steps 3 and 4: signature, then registered and sigil claims.
	var c *Claims
	var kid string
	if hk.plain && !ignoreTime && !v.slowOnly {
		var box *claimsBox
		if fill {
			signed, _ := splitSignature(raw)
			if s, _ = newSlot(signed, hk.kid, payload); s != nil {
				box = &s.box
			}
		}
		if box == nil {
			box = new(claimsBox)
		}
		c, err = v.fastParse(raw, d2, hk.key, &ps, members, box)
		kid = hk.kid
	}
	if c == nil {
		s = nil
		c, kid, err = v.golangJWTParse(raw, ignoreTime)
	}
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrExpired) && v.checkLifetime(c) == nil {
			// golang-jwt validates claims only after the signature, and
			// classify names expiry only when issuer, audience and
			// Claims.Validate passed: c is a genuine token's.
			normalizeTimes(c)
			err = withClaims(err, c)
		}
		return nil, "", nil, err
	}
	if ignoreTime {
		switch {
		case c.Issuer == "":
			return nil, "", nil, fail(ErrClaims, "missing iss")
		case c.Issuer != v.iss:
			return nil, "", nil, fail(ErrIssuer, "")
		case len(c.Audience) == 0:
			return nil, "", nil, fail(ErrClaims, "missing aud")
		case !slices.Contains(c.Audience, v.aud):
			return nil, "", nil, fail(ErrAudience, "")
		}
		if err := c.Validate(); err != nil {
			return nil, "", nil, err
		}
	}
	if err := v.checkLifetime(c); err != nil {
		return nil, "", nil, err
	}
	normalizeTimes(c)
	return c, kid, s, nil
}

// golangJWTParse is steps 3 and 4 by golang-jwt's ParseWithClaims: it
// decodes the token a second time (header into a map, payload with
// encoding/json), checks the signature and, unless ignoreTime, the claims.
// It is what fastParse must equal, and the path of every token fastParse
// leaves to it. It returns the claims also with an error (an expired
// token's), and the header's kid.
func (v *Verifier) golangJWTParse(raw string, ignoreTime bool) (*Claims, string, error) {
	c := new(Claims)
	parser := v.parser
	if ignoreTime {
		parser = v.parserNoTime
	}
	tok, err := parser.ParseWithClaims(raw, c, v.keyfunc)
	if err != nil {
		return c, "", err
	}
	kid, _ := tok.Header["kid"].(string)
	return c, kid, nil
}

// checkLifetime rejects a token whose exp - iat is longer than its kind
// allows (DESIGN §1): an embed token longer than EmbedMaxLifetime. Every
// path of the pipeline runs it, the cache is only filled after it.
//
// It also keeps console tokens and the other kinds apart: a console
// verifier (VerifierConfig.Console) accepts console tokens only, any other
// verifier none.
func (v *Verifier) checkLifetime(c *Claims) error {
	if (c.Kind == KindConsole) != v.console {
		if v.console {
			return fail(ErrClaims, "not a console token")
		}
		return fail(ErrClaims, "a console token is good for the registry API only")
	}
	limit := v.embedMax
	switch c.Kind {
	case KindEmbed:
	case KindConsole:
		limit = v.consoleMax
	default:
		return nil // registered kinds: their record's expiry, checked by the registry
	}
	if c.ExpiresAt == nil || c.IssuedAt == nil {
		return fail(ErrClaims, "missing exp") // Validate has said so already
	}
	if c.ExpiresAt.Unix()-c.IssuedAt.Unix() > limit {
		return fail(ErrClaims, "lifetime longer than the maximum for "+c.Kind+" tokens")
	}
	return nil
}

// errKID and errAlg are keyfunc failures, told apart from golang-jwt's.
var (
	errKID = errors.New("kid selects no loaded key")
	errAlg = errors.New("alg does not match the key's algorithm")
)

// lookupKey is the golang-jwt keyfunc: the key is chosen by kid only, and
// its algorithm must equal the token's.
func (v *Verifier) lookupKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := v.keys.Lookup(kid)
	if !ok || k == nil {
		return nil, errKID
	}
	if alg, _ := t.Header["alg"].(string); t.Method == nil || t.Method.Alg() != k.Alg || alg != k.Alg {
		return nil, errAlg
	}
	return k.VerificationKey(), nil
}

// checkedHeader is what checkHeader learnt from a good header: the key its
// kid selects, the kid, and whether every member is a string (plain), so
// that golang-jwt's own decoding of the header (json.Unmarshal into a map)
// is sure to succeed and to read the same alg and kid.
type checkedHeader struct {
	key   *keys.Key
	kid   string
	plain bool
}

// checkHeader enforces step 2 on the decoded header: a JSON object without
// duplicate or case-variant member names; alg one of ours; kid present and
// selecting a loaded key of exactly that alg; typ absent or "JWT"; no crit.
// jku, x5u, jwk and x5c are ignored (never used to find a key).
func (v *Verifier) checkHeader(b []byte) (checkedHeader, error) {
	var ms [maxHeaderMembers]member
	s := scanner{b: b}
	members, d := s.topObject(ms[:0])
	if d != "" {
		if s.dup {
			return checkedHeader{}, fail(ErrHeader, d)
		}
		return checkedHeader{}, fail(ErrMalformed, "header: "+d)
	}
	alg := ""
	var kid jstr
	hasKID, plain := false, true
	for _, m := range members {
		plain = plain && m.kind == kindString
		switch string(s.raw(m.name)) {
		case "alg":
			if m.kind != kindString {
				return checkedHeader{}, fail(ErrHeader, "alg is not a string")
			}
			if alg = knownAlg(&s, m.val); alg == "" {
				return checkedHeader{}, fail(ErrHeader, "alg not allowed")
			}
		case "kid":
			if m.kind != kindString || m.val.start == m.val.end {
				return checkedHeader{}, fail(ErrHeader, "kid is not a non-empty string")
			}
			kid, hasKID = m.val, true
		case "typ":
			if m.kind != kindString || string(s.raw(m.val)) != "JWT" {
				return checkedHeader{}, fail(ErrHeader, `typ is not "JWT"`)
			}
		case "crit":
			return checkedHeader{}, fail(ErrHeader, "crit is not supported")
		default:
			for _, n := range [...]string{"alg", "kid", "typ", "crit"} {
				if s.foldEqString(m.name, n) {
					return checkedHeader{}, fail(ErrHeader, "case-variant or escaped header name")
				}
			}
		}
	}
	if alg == "" {
		return checkedHeader{}, fail(ErrHeader, "missing alg")
	}
	if !hasKID {
		return checkedHeader{}, fail(ErrHeader, "missing kid")
	}
	kidText := s.text(kid)
	k, ok := v.keys.Lookup(kidText)
	if !ok || k == nil {
		return checkedHeader{}, fail(ErrUnknownKey, "")
	}
	if k.Alg != alg {
		return checkedHeader{}, fail(ErrHeader, "alg does not match the key's algorithm")
	}
	return checkedHeader{key: k, kid: kidText, plain: plain}, nil
}

// knownAlg returns the algorithm a header alg names exactly, or "".
func knownAlg(s *scanner, a jstr) string {
	raw := s.raw(a)
	if raw == nil { // escapes: rare, compare the decoded text
		t := s.text(a)
		raw = []byte(t)
	}
	for _, alg := range algorithms {
		if string(raw) == alg {
			return alg
		}
	}
	return ""
}

// claimNames are the JSON names of Claims' fields; a member that folds to
// one of them must be spelt exactly so (encoding/json would fold "EXP" into
// exp while a gateway would not).
var claimNames = [...]string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "tt", "scope", "client_id", "tid",
	"dashboardId", "reportId", "appId", "readOnly", "params", "securityPolicies", "auth_time",
}

// checkPayload enforces the strict half of step 4 on the decoded payload
// s.b, and returns its top-level members (appended to ms).
func checkPayload(s *scanner, ms []member) ([]member, error) {
	b := s.b
	members, d := s.topObject(ms)
	if d != "" {
		if s.dup {
			return nil, fail(ErrClaims, d)
		}
		return nil, fail(ErrMalformed, "payload: "+d)
	}
	for _, m := range members {
		want := jsonKind(0)
		switch string(s.raw(m.name)) {
		case "exp", "nbf", "iat", "auth_time":
			if m.kind != kindNumber || !saneTime(b[m.vstart:m.vend]) {
				return nil, fail(ErrClaims, "exp, nbf, iat and auth_time must be positive numbers below 1e11")
			}
			continue
		case "aud":
			if m.kind != kindString && m.kind != kindArray {
				return nil, fail(ErrClaims, "aud is not a string or an array")
			}
			continue
		case "iss", "sub", "jti", "tt", "scope", "client_id", "tid", "dashboardId", "reportId", "appId":
			want = kindString
		case "readOnly":
			want = kindBool
		case "params":
			want = kindObject
		case "securityPolicies":
			want = kindArray
		default:
			for _, n := range claimNames {
				if s.foldEqString(m.name, n) {
					return nil, fail(ErrClaims, "case-variant or escaped claim name")
				}
			}
			continue
		}
		if m.kind != want {
			return nil, fail(ErrClaims, "claim of the wrong JSON type")
		}
	}
	return members, nil
}

// classify maps a golang-jwt error to one of ours, most fundamental first.
func classify(err error) error {
	var own *detailError
	if errors.As(err, &own) { // Claims.Validate's, already ours
		return own
	}
	kind, detail := ErrInvalidToken, ""
	switch {
	case errors.Is(err, errKID):
		kind = ErrUnknownKey
	case errors.Is(err, errAlg):
		kind = ErrHeader
	case errors.Is(err, jwt.ErrTokenMalformed):
		kind = ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		kind = ErrHeader
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		kind = ErrSignature
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		kind = ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		kind = ErrAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		kind, detail = ErrClaims, "required claim missing"
	case errors.Is(err, jwt.ErrTokenExpired):
		kind = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		kind = ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		kind, detail = ErrNotYetValid, "issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidClaims), errors.Is(err, jwt.ErrInvalidType):
		kind = ErrClaims
	}
	return failCause(kind, detail, err)
}

// normalizeTimes puts the decoded NumericDates in UTC, like minted ones.
func normalizeTimes(c *Claims) {
	for _, d := range [...]*jwt.NumericDate{c.ExpiresAt, c.NotBefore, c.IssuedAt, c.AuthTime} {
		if d != nil {
			d.Time = d.Time.UTC()
		}
	}
}
