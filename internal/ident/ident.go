// Package ident is the one rule for the ids sigil stores and signs: client
// ids and the ids of dashboards, reports and apps. They go into tokens,
// Redis keys, logs and URLs, so they are short and of a safe alphabet.
package ident

// Rule is the rule as the 4xx messages state it.
const Rule = "must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"

// Pattern is the rule as a regular expression (the API's documents give
// it; Valid is the same check without the regexp machinery).
const Pattern = `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`

// Valid reports whether id follows the rule: 1 to 128 bytes, an ASCII
// letter or digit, then letters, digits, '.', '_', ':' or '-'. It runs
// on the authentication and mint paths of every request, so it is a
// table lookup per byte (TestValidMatchesPattern holds it to Pattern).
func Valid(id string) bool {
	if id == "" || len(id) > 128 || !idByte[id[0]] || id[0] == '.' || id[0] == '_' || id[0] == ':' || id[0] == '-' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if !idByte[id[i]] {
			return false
		}
	}
	return true
}

// idByte holds the bytes of Pattern's second class, [A-Za-z0-9._:-].
var idByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
	}
	return t
}()
