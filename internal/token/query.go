package token

import (
	"iter"
	"net/url"
	"strings"
	"unicode/utf8"
)

// QueryToken returns the first token parameter of a raw query and how many
// credential parameters there are. Pairs are split at & and at ; (which
// some servers take as a separator), and names are unescaped (%74oken is
// token), so that no reading of the query finds a token this count missed.
// The count also takes names that another reader could take for a token:
// token in any letter case and RFC 6750's access_token (§2.3); only an
// exact "token" gives tok. One credential per request (RFC 6750 §2):
// callers refuse n > 1, and n > 0 beside another credential.
func QueryToken(raw string) (tok string, n int) {
	if !mayNameToken(raw) {
		return "", 0
	}
	return queryTokenPairs(raw)
}

// queryTokenPairs is QueryToken without its shortcut: every pair split,
// unescaped and compared.
func queryTokenPairs(raw string) (tok string, n int) {
	for k, v := range QueryPairs(raw) {
		if !strings.EqualFold(k, "token") && !strings.EqualFold(k, "access_token") {
			continue
		}
		if k == "token" && tok == "" {
			tok = v
		}
		n++
	}
	return tok, n
}

// mayNameToken reports whether a pair of raw could be counted by
// QueryToken: "token" and "access_token" both hold a k, and a name only
// reads as one of them (unescaped, letter case folded as strings.EqualFold
// does) if raw holds a k or K, an escape (%6B), or a non-ASCII byte (the
// Kelvin sign U+212A folds to k). A query without any of them (most
// forwarded URIs: ?lang=de) holds no token, and is not split and unescaped
// pair by pair to learn it.
func mayNameToken(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b == 'k' || b == 'K' || b == '%' || b >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// QueryPairs yields the name and value of every pair of a raw query, each
// unescaped (kept as sent when it is not a valid escape). Pairs are split at
// & and at ; (which some servers take as a separator), so that no reader of
// the query finds a parameter these pairs miss.
func QueryPairs(raw string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for pair := range strings.FieldsFuncSeq(raw, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, _ := strings.Cut(pair, "=")
			if uk, err := url.QueryUnescape(k); err == nil {
				k = uk
			}
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
			if !yield(k, v) {
				return
			}
		}
	}
}
