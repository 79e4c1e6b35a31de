package httpapi

import (
	"fmt"
	"net/http"
	"net/textproto"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// Policy decides whether a verified token may make the request a gateway
// forwards; *policy.Policy satisfies it.
type Policy interface {
	// Check returns nil, or an error for which policy.IsDenied holds.
	Check(c *token.Claims, req policy.Request) error
}

// Forwarded request headers: Traefik/Caddy style first, then nginx's.
var (
	hdrForwardedMethod = textproto.CanonicalMIMEHeaderKey("X-Forwarded-Method")
	hdrForwardedURI    = textproto.CanonicalMIMEHeaderKey("X-Forwarded-Uri")
	hdrOriginalMethod  = textproto.CanonicalMIMEHeaderKey("X-Original-Method")
	hdrOriginalURI     = textproto.CanonicalMIMEHeaderKey("X-Original-URI")
)

func defaultPolicy() Policy {
	p, err := policy.New(policy.Config{})
	if err != nil {
		panic(fmt.Sprintf("httpapi: built-in policy: %v", err)) // the defaults are constants
	}
	return p
}

// forwardedRequest returns the method and URI the gateway forwards, and
// whether the policy step applies: it does when a URI is forwarded. Without
// a forwarded method the method is unknown, and every kind refuses it (403
// read_only): each kind and route lists the methods it allows. A method without a URI is a 400
// naming the missing header, and so are both spellings (X-Forwarded-* and
// X-Original-*) with different values: a client may have added one of
// them, and the gateway's cannot be told apart. No forwarded header at all
// is a plain token check. fwd is the forwarded URI (forwardedURIOf).
func forwardedRequest(h http.Header, fwd forwardedURI) (policy.Request, bool, error) {
	uri, uh := fwd.value, fwd.header
	method, mh := first(h, hdrForwardedMethod, hdrOriginalMethod)
	if uri == "" {
		if method == "" {
			return policy.Request{}, false, nil
		}
		want := "X-Forwarded-Uri"
		if mh == hdrOriginalMethod {
			want = "X-Original-URI"
		}
		return policy.Request{}, false, apperr.Invalid(want, "%s is required with %s", want, mh)
	}
	if uh == hdrForwardedURI && conflicts(h, hdrOriginalURI, uri) {
		return policy.Request{}, false, apperr.Invalid("X-Original-URI", "X-Forwarded-Uri and X-Original-URI disagree")
	}
	if mh == hdrForwardedMethod && conflicts(h, hdrOriginalMethod, method) {
		return policy.Request{}, false, apperr.Invalid("X-Original-Method", "X-Forwarded-Method and X-Original-Method disagree")
	}
	return policy.Request{Method: method, URI: uri, Overrides: policy.MethodOverrides(h, uri)}, true, nil
}

// conflicts reports whether header name is present, non-empty and not v.
func conflicts(h http.Header, name, v string) bool {
	o := h[name]
	return len(o) > 0 && o[0] != "" && o[0] != v
}

// first returns the first non-empty header of names, and its name.
func first(h http.Header, names ...string) (string, string) {
	for _, n := range names {
		if v := h[n]; len(v) > 0 && v[0] != "" {
			return v[0], n
		}
	}
	return "", ""
}

// applyPolicy runs the policy step of /api/v1/verify when the gateway
// forwards the request; a denial is recorded as a failed use.
func (s *Server) applyPolicy(claims *token.Claims, req policy.Request, raw string) error {
	req.Token = raw
	err := s.cfg.Policy.Check(claims, req)
	if err == nil {
		return nil
	}
	if claims.TID != "" && s.cfg.Recorder != nil {
		s.cfg.Recorder.Authenticated(claims.TID, s.cfg.Now().UTC().Truncate(time.Millisecond), false)
	}
	return err
}
