package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/bits"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/tailalloc"
	"github.com/sigil-dev/sigil/internal/token"
)

// Identity headers handed to the upstream by forward-auth.
const (
	HeaderSubject  = "X-Sigil-Subject"
	HeaderKind     = "X-Sigil-Kind"
	HeaderScope    = "X-Sigil-Scope"
	HeaderResource = "X-Sigil-Resource"
	HeaderParams   = "X-Sigil-Params"
	HeaderPolicies = "X-Sigil-Policies"
)

// verifyResponse is the body of a 200 from /api/v1/verify (gateways use the headers).
type verifyResponse struct {
	Active   bool   `json:"active"`
	Subject  string `json:"sub,omitempty"`
	Kind     string `json:"tt"`
	Scope    string `json:"scope,omitempty"`
	Resource string `json:"resource"`
	Exp      int64  `json:"exp,omitempty"`
}

// verify answers GET /api/v1/verify, the forward-auth endpoint of gateways.
func (s *Server) verify(c echo.Context) error {
	uri := forwardedURIOf(c.Request().Header)
	raw, err := forwardedToken(c, uri)
	if err != nil {
		return err
	}
	fwd, gated, err := forwardedRequest(c.Request().Header, uri)
	if err != nil {
		return err
	}
	claims, memo, err := s.cfg.Verifier.VerifyMemo(c.Request().Context(), raw)
	if err != nil {
		s.cfg.Observer.Verified(token.Reason(err))
		s.recordRejected(err)
		return err
	}
	if gated {
		if err := s.applyPolicy(claims, fwd, raw); err != nil {
			s.cfg.Observer.Verified(ReasonPolicy)
			return err
		}
	}
	s.cfg.Observer.Verified(token.Reason(nil))
	s.recordUse(claims)
	// The hot path of every gateway: the answer depends on the claims only,
	// so it is rendered once per cached token and kept in its cache entry.
	a := verifyAnswerOf(memo, claims)
	h := c.Response().Header()
	h["Cache-Control"] = noStoreValue
	for set := a.present; set != 0; set &= set - 1 {
		i := bits.TrailingZeros8(set)
		// One value, capacity one: whoever appends to the header gets a
		// copy and never writes into the next header's value.
		h[identityHeaders[i]] = a.vals[i : i+1 : i+1]
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusOK)
	}
	return writeJSON(c, a.body)
}

// noStoreValue and jsonContentType are shared by every answer: net/http only reads them.
var (
	noStoreValue    = []string{"no-store"}
	jsonContentType = []string{echo.MIMEApplicationJSON}
)

// answers are the answers rendered for one verified token, kept in its
// cache entry's Memo: they depend on its claims alone.
//
// The verify answer lives inside answers, not behind a pointer, and its
// text (body and header values) in the same object's tail when forward-
// auth made it (newAnswers): with many tokens cached the working set is
// larger than the CPU's caches, and every separate object a hit reads is a
// likely miss to memory and one more object per cached token for the
// collector to mark. Being inline, the verify answer cannot be swapped
// atomically: verifyState lets one request fill it while others render
// their own copy (the same bytes, from the same claims) until it is ready.
type answers struct {
	verifyState atomic.Uint32 // verifyEmpty, verifyFilling, verifyReady
	verify      verifyAnswer
	introspect  atomic.Pointer[[]byte]
}

const (
	verifyEmpty = iota
	verifyFilling
	verifyReady
)

// answersOf returns memo's answers (an empty set to fill when the token is
// not cached: memo is nil).
func answersOf(memo *token.Memo) *answers {
	if a, ok := memo.Load().(*answers); ok {
		return a
	}
	return memo.LoadOrStore(new(answers)).(*answers)
}

// verifyAnswerOf returns the verify answer for claims kept in memo (the
// memo of claims' cache entry, or nil), rendering it on first use: into a
// new answers object with its text in its tail, kept in memo unless
// another request kept one first.
func verifyAnswerOf(memo *token.Memo, claims *token.Claims) *verifyAnswer {
	if as, ok := memo.Load().(*answers); ok {
		return as.verifyAnswer(claims)
	}
	as := newAnswers(claims)
	if kept := memo.LoadOrStore(as).(*answers); kept != as {
		return kept.verifyAnswer(claims)
	}
	return &as.verify
}

// verifyAnswer returns the verify answer for claims (the claims of the
// token whose answers these are): the one kept in as, rendered now by the
// first caller; a caller that comes while another fills it gets a copy of
// its own. Once ready, as.verify is never written again.
func (as *answers) verifyAnswer(claims *token.Claims) *verifyAnswer {
	if as.verifyState.Load() == verifyReady {
		return &as.verify
	}
	if as.verifyState.CompareAndSwap(verifyEmpty, verifyFilling) {
		renderVerify(&as.verify, claims)
		as.verifyState.Store(verifyReady)
		return &as.verify
	}
	a := new(verifyAnswer)
	renderVerify(a, claims)
	return a
}

// verifyAnswer is a 200 of /api/v1/verify for one token: the identity
// headers (vals[i] is the value of identityHeaders[i] when bit i of present
// is set; values shared by every answer for that token: net/http only
// reads them) and the JSON body. Body and values are views of one text
// that nothing writes to once rendered.
type verifyAnswer struct {
	present uint8
	body    []byte
	vals    [maxIdentityHeaders]string
}

// identityHeaders are the headers of a verify answer, in verifyAnswer.vals' order.
var identityHeaders = [maxIdentityHeaders]string{HeaderSubject, HeaderKind, HeaderScope, HeaderResource, HeaderParams, HeaderPolicies}

const (
	maxIdentityHeaders = 6
	hdrSubject         = iota - 1
	hdrKind
	hdrScope
	hdrResource
	hdrParams
	hdrPolicies
)

// verifyText is what an answer's text is made of for claims, measured
// first (verifyTextOf returns its length) so that the text is allocated
// once at its final size.
type verifyText struct {
	body             []byte
	resource         string
	params, policies []byte
}

func verifyTextOf(claims *token.Claims, buf []byte) (verifyText, int) {
	t := verifyText{resource: claims.Resource()}
	if len(claims.Params) > 0 {
		t.params = headerJSON(claims.Params)
	}
	if len(claims.SecurityPolicies) > 0 {
		t.policies = headerJSON(claims.SecurityPolicies)
	}
	resp := verifyResponse{Active: true, Subject: claims.Subject, Kind: claims.Kind, Scope: claims.Scope, Resource: t.resource}
	if claims.ExpiresAt != nil {
		resp.Exp = claims.ExpiresAt.Unix()
	}
	t.body = append(appendVerifyResponse(buf, resp), '\n')
	b64 := base64.RawURLEncoding
	n := len(t.body) + len(claims.Subject) + len(claims.Kind) + len(claims.Scope) + len(t.resource) +
		b64.EncodedLen(len(t.params)) + b64.EncodedLen(len(t.policies))
	return t, n
}

// renderVerify renders into a (zero) the answer for claims: the identity
// headers, and the body as encoding/json writes verifyResponse (as c.JSON
// would, with its newline), with its text in a block of its own.
func renderVerify(a *verifyAnswer, claims *token.Claims) {
	var buf [256]byte
	t, n := verifyTextOf(claims, buf[:0])
	fillVerify(a, claims, t, make([]byte, 0, n))
}

// fillVerify renders the answer for claims, measured in t, into a, its
// text appended to text (which has the room: the views are of text's array).
func fillVerify(a *verifyAnswer, claims *token.Claims, t verifyText, text []byte) {
	text = append(text, t.body...)
	// The values are appended first and viewed after, so that the views are
	// of the text's final array whatever its growth.
	var ends [maxIdentityHeaders]int
	add := func(i int, value string) {
		text = append(text, value...)
		a.present |= 1 << i
		ends[i] = len(text)
	}
	b64 := base64.RawURLEncoding
	if claims.Subject != "" {
		add(hdrSubject, claims.Subject)
	}
	add(hdrKind, claims.Kind)
	if claims.Scope != "" {
		add(hdrScope, claims.Scope)
	}
	add(hdrResource, t.resource)
	if len(claims.Params) > 0 {
		text = b64.AppendEncode(text, t.params)
		a.present |= 1 << hdrParams
		ends[hdrParams] = len(text)
	}
	if len(claims.SecurityPolicies) > 0 {
		text = b64.AppendEncode(text, t.policies)
		a.present |= 1 << hdrPolicies
		ends[hdrPolicies] = len(text)
	}
	a.body = text[:len(t.body):len(t.body)]
	start := len(t.body)
	for i := range maxIdentityHeaders {
		if a.present&(1<<i) != 0 {
			a.vals[i] = unsafe.String(unsafe.SliceData(text[start:]), ends[i]-start)
			start = ends[i]
		}
	}
}

// newAnswers is a new answers object holding the verify answer for claims,
// ready, with its text in the object's own tail (tailalloc: one
// allocation). A text beyond maxAnswersTail gets a block of its own.
func newAnswers(claims *token.Claims) *answers {
	var buf [256]byte
	t, n := verifyTextOf(claims, buf[:0])
	as, tail, ok := answerSets.New(n)
	if !ok {
		as, tail = new(answers), make([]byte, n)
	}
	fillVerify(&as.verify, claims, t, tail[:0])
	as.verifyState.Store(verifyReady)
	return as
}

// maxAnswersTail bounds the text kept in an answers object's own tail.
const maxAnswersTail = 16 << 10

// answerSets makes answers objects with their text in the same object, in
// 64-byte steps.
var answerSets = tailalloc.New[answers](64, maxAnswersTail)

// recordUse hands a successful use of a registered token (one with a tid)
// to the Recorder, which never blocks (DESIGN §8).
func (s *Server) recordUse(claims *token.Claims) {
	if claims.TID != "" && s.cfg.Recorder != nil {
		s.cfg.Recorder.Authenticated(claims.TID, s.cfg.Now().UTC().Truncate(time.Millisecond), true)
	}
}

// recordRejected hands a failed use to the Recorder when the token was
// rejected as revoked or expired and is a genuine registered token: the
// pipeline's rejection carries its claims (token.RejectedClaims), so it is
// not parsed again to learn its tid.
func (s *Server) recordRejected(err error) {
	if s.cfg.Recorder == nil {
		return
	}
	claims, ok := token.RejectedClaims(err)
	if !ok || claims.TID == "" {
		return
	}
	s.cfg.Recorder.Authenticated(claims.TID, s.cfg.Now().UTC().Truncate(time.Millisecond), false)
}

// headerJSON is v's JSON as identity headers carry it (base64url of it);
// nil if v cannot be encoded, whose header is then empty.
func headerJSON(v any) []byte {
	b, err := marshalAnswerJSON(v)
	if err != nil {
		return nil
	}
	return b
}

// forwardedURI is the URI a gateway forwards (the one the policy step
// reads), read once per request: its value ("" without one), the header
// it came from, and that header's name as fields of errors name it.
type forwardedURI struct {
	value, header, field string
}

func forwardedURIOf(h http.Header) forwardedURI {
	v, n := first(h, hdrForwardedURI, hdrOriginalURI)
	field := "X-Forwarded-Uri"
	if n == hdrOriginalURI {
		field = "X-Original-URI"
	}
	return forwardedURI{value: v, header: n, field: field}
}

// query is the URI's query, "" without one.
func (u forwardedURI) query() string {
	_, q, _ := strings.Cut(u.value, "?")
	q, _, _ = strings.Cut(q, "#")
	return q
}

// forwardedToken finds the token of a forward-auth request: the Bearer
// header, ?token= of the verify request, or the token query of the original
// URI that the gateway forwards (uri, the URI the policy step reads).
// Exactly one of them may carry a token, once (RFC 6750 §2): two
// Authorization headers, two token parameters, or a token in two places is
// a 400, since a gateway, sigil and the upstream could each read another one.
func forwardedToken(c echo.Context, uri forwardedURI) (string, error) {
	tok, err := bearerToken(c)
	if err != nil {
		return "", err
	}
	sources := 0
	if hasAuthorization(c) {
		sources++ // a Bearer token, or another scheme the upstream may read
	}
	for _, src := range [2]struct{ field, query string }{
		{"token", c.Request().URL.RawQuery},
		{uri.field, uri.query()},
	} {
		qt, n := token.QueryToken(src.query)
		if n > 1 {
			return "", oneCredential(src.field, "more than one token query parameter")
		}
		if n == 1 {
			sources++
			if tok == "" {
				tok = qt
			}
		}
	}
	if uri.value != "" && sources == 0 {
		// The only place left for the token: say so when it cannot be read.
		if _, err := url.ParseRequestURI(uri.value); err != nil {
			return "", apperr.Invalid(uri.field, "%s is not a valid request URI", uri.field)
		}
	}
	if sources > 1 {
		return "", oneCredential("token", "a token in more than one place (Authorization, ?token=, the forwarded URI)")
	}
	if tok == "" {
		return "", &apperr.Error{Code: apperr.CodeTokenRequired, Message: "a token is required: Authorization: Bearer, or ?token="}
	}
	return tok, nil
}

// invalidate answers POST /api/v1/invalidate-token: logout. 204 only once
// the denylist holds the token's id; an expired or already revoked genuine
// token is 204 too; a forged one is 401; a registered token (report,
// app-view, api) is 403 (embed.Service.Invalidate).
func (s *Server) invalidate(c echo.Context) error {
	raw, err := requireBearer(c)
	if err != nil {
		return err
	}
	if err := s.cfg.Tokens.Invalidate(c.Request().Context(), raw); err != nil {
		if err := s.invalidateConsole(c.Request().Context(), raw, err); err != nil {
			return err
		}
	}
	noStore(c)
	return c.NoContent(http.StatusNoContent)
}

// introspectResponse is RFC 7662's answer; inactive tokens get {"active": false} only.
type introspectResponse struct {
	Active           bool           `json:"active"`
	Scope            string         `json:"scope,omitempty"`
	ClientID         string         `json:"client_id,omitempty"`
	Subject          string         `json:"sub,omitempty"`
	TokenType        string         `json:"token_type,omitempty"`
	Exp              int64          `json:"exp,omitempty"`
	Iat              int64          `json:"iat,omitempty"`
	Nbf              int64          `json:"nbf,omitempty"`
	Aud              []string       `json:"aud,omitempty"`
	Iss              string         `json:"iss,omitempty"`
	Jti              string         `json:"jti,omitempty"`
	Kind             string         `json:"tt,omitempty"`
	TID              string         `json:"tid,omitempty"`
	DashboardID      string         `json:"dashboardId,omitempty"`
	ReportID         string         `json:"reportId,omitempty"`
	AppID            string         `json:"appId,omitempty"`
	ReadOnly         bool           `json:"readOnly,omitempty"`
	Params           map[string]any `json:"params,omitempty"`
	SecurityPolicies []token.Policy `json:"securityPolicies,omitempty"`
}

// introspect answers POST /api/v1/introspect (RFC 7662) for authenticated
// clients. A token outside the caller's resources is reported inactive.
// It runs behind withClient: cl is the authenticated client (the route
// takes no console token, so the caller is the client alone).
func (s *Server) introspect(c echo.Context, cl clients.Client) error {
	raw, err := formValue(c, "token")
	if err != nil {
		return err
	}
	noStore(c)
	in, err := s.cfg.Tokens.Introspect(c.Request().Context(), clientCaller(cl), raw)
	if err != nil {
		s.cfg.Observer.Verified(token.Reason(err))
		return err
	}
	s.cfg.Observer.Verified(token.Reason(in.Rejected))
	if in.RejectedInScope {
		s.recordRejected(in.Rejected)
	}
	if !in.Active {
		if pretty(c) {
			return c.JSON(http.StatusOK, introspectResponse{Active: false})
		}
		return writeJSON(c, inactiveBody)
	}
	claims := in.Claims
	s.recordUse(claims)
	if pretty(c) {
		return c.JSON(http.StatusOK, introspectAnswer(claims))
	}
	answers := answersOf(in.Memo)
	body := answers.introspect.Load()
	if body == nil {
		b, err := renderJSON(introspectAnswer(claims))
		if err != nil {
			return fmt.Errorf("introspect: render answer: %w", err)
		}
		body = &b
		answers.introspect.Store(body)
	}
	return writeJSON(c, *body)
}

// inactiveBody is {"active":false} as c.JSON writes it.
var inactiveBody = mustRenderJSON(introspectResponse{Active: false})

// pretty reports whether c.JSON would indent (a ?pretty query parameter).
func pretty(c echo.Context) bool {
	if c.Request().URL.RawQuery == "" {
		return false
	}
	_, ok := c.QueryParams()["pretty"]
	return ok
}

// writeJSON answers 200 with body, JSON rendered before: c.JSONBlob, with
// the Content-Type set straight into the map.
func writeJSON(c echo.Context, body []byte) error {
	res := c.Response()
	h := res.Header()
	if v := h[echo.HeaderContentType]; len(v) == 0 || v[0] == "" {
		h[echo.HeaderContentType] = jsonContentType
	}
	res.WriteHeader(http.StatusOK)
	_, err := res.Write(body)
	return err
}

// renderJSON is v as encoding/json's Encoder writes it (c.JSON's
// serializer): Marshal's text and a newline.
func renderJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// mustRenderJSON is renderJSON for fixed values known at start.
func mustRenderJSON(v any) []byte {
	b, err := renderJSON(v)
	if err != nil {
		panic(err)
	}
	return b
}

// introspectAnswer is the RFC 7662 answer for an active token's claims.
func introspectAnswer(claims *token.Claims) introspectResponse {
	resp := introspectResponse{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, Subject: claims.Subject,
		TokenType: "Bearer", Aud: claims.Audience, Iss: claims.Issuer, Jti: claims.ID, Kind: claims.Kind,
		TID: claims.TID, DashboardID: claims.DashboardID, ReportID: claims.ReportID, AppID: claims.AppID,
		ReadOnly: claims.ReadOnly, Params: claims.Params, SecurityPolicies: claims.SecurityPolicies,
	}
	if claims.ExpiresAt != nil {
		resp.Exp = claims.ExpiresAt.Unix()
	}
	if claims.IssuedAt != nil {
		resp.Iat = claims.IssuedAt.Unix()
	}
	if claims.NotBefore != nil {
		resp.Nbf = claims.NotBefore.Unix()
	}
	return resp
}

// revoke answers POST /api/v1/revoke (RFC 7009). An invalid token is a 200
// (RFC 7009 §2.2); a genuine token outside the caller's resources is a 403,
// and so is a registered token whose record the caller did not create
// (embed.Service.Revoke hands it to Registry.RevokePresented, which marks
// the record revoked and logs REVOKE).
func (s *Server) revoke(c echo.Context) error {
	raw, err := formValue(c, "token")
	if err != nil {
		return err
	}
	if err := s.cfg.Tokens.Revoke(c.Request().Context(), registryCaller(c), raw); err != nil {
		return registryError(err)
	}
	return c.NoContent(http.StatusOK)
}
