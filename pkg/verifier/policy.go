package verifier

import (
	"errors"

	"github.com/sigil-dev/sigil/internal/policy"
)

// PolicyConfig is sigil's forward-auth policy configuration (gateway.* keys):
// the dashboard prefix of embed tokens and the methods allowed there, the
// /api/apps/{appId}/view/api whitelist of each app, and the route → scope
// rules of API tokens with their methods (GET and HEAD unless a rule names
// others). Report and app-view tokens only ever GET and HEAD.
type PolicyConfig = policy.Config

// Denied is the error of a genuine token used where its kind, binding,
// method or scopes do not allow; Code is "forbidden", "read_only" or
// "insufficient_scope" (then Scope names the missing scopes).
type Denied = policy.Denied

// ErrNoPolicy is returned by Authorize on a Verifier built without Config.Policy.
var ErrNoPolicy = errors.New("verifier: no policy configured")

// Authorize applies the policy to verified claims for a request: its
// method, its URI as the client sent it (path and query: r.RequestURI on a
// server) and the raw token. It returns nil or a *Denied — the same
// decision as sigil's /api/v1/verify given those forwarded values.
func (v *Verifier) Authorize(c *Claims, method, requestURI, raw string) error {
	if v.policy == nil {
		return ErrNoPolicy
	}
	return v.policy.Check(c, policy.Request{Method: method, URI: requestURI, Token: raw})
}
