package token

import (
	"unicode"
	"unicode/utf8"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// HeaderSafe reports whether s reaches an upstream byte for byte as (part
// of) an HTTP header value, as the identity that forward-auth hands on in
// X-Sigil-* headers must: valid UTF-8 without control characters (C0 incl.
// CR, LF and NUL, DEL, C1), and no leading or trailing white space, which
// HTTP implementations trim (Go's net/http turns " admin " into "admin").
// The empty string is safe.
func HeaderSafe(s string) bool {
	if s == "" {
		return true
	}
	if !utf8.ValidString(s) {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f {
			return false
		}
		if s[i] >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if unicode.IsControl(r) {
					return false
				}
			}
			return true
		}
	}
	return true
}

// CheckHeaderSafe is HeaderSafe as a 400 naming field.
func CheckHeaderSafe(field, s string) error {
	if HeaderSafe(s) {
		return nil
	}
	return apperr.Invalid(field, "must be valid UTF-8 without control characters or leading or trailing white space, so that it reaches the upstream byte for byte")
}

// headerUnsafeClaim names the first claim that the identity headers of
// forward-auth (X-Sigil-Subject, -Scope, -Resource, -Params, -Policies)
// could not carry byte for byte, or returns "". sigil never mints such a
// token; one signed elsewhere (a leaked key, an older version) is refused
// rather than handed on altered.
func (c *Claims) headerUnsafeClaim() string {
	for _, f := range [...]struct{ name, v string }{
		{"sub", c.Subject}, {"scope", c.Scope}, {"dashboardId", c.DashboardID},
		{"reportId", c.ReportID}, {"appId", c.AppID},
	} {
		if !HeaderSafe(f.v) {
			return f.name
		}
	}
	if !mapHeaderSafe(c.Params, 0) {
		return "params"
	}
	for _, p := range c.SecurityPolicies {
		if !HeaderSafe(p.Name) || !mapHeaderSafe(p.Params, 0) {
			return "securityPolicies"
		}
	}
	return ""
}

// mapHeaderSafe reports whether every key and string value of m (and of
// the maps in it) is HeaderSafe.
func mapHeaderSafe(m map[string]any, depth int) bool {
	if depth > 8 {
		return false
	}
	for k, v := range m {
		if !HeaderSafe(k) {
			return false
		}
		switch x := v.(type) {
		case string:
			if !HeaderSafe(x) {
				return false
			}
		case map[string]any:
			if !mapHeaderSafe(x, depth+1) {
				return false
			}
		}
	}
	return true
}
