package httpapi

import "strings"

// maxPlainPairs is the most '&' separators plainFormValue reads itself.
const maxPlainPairs = 16

// plainFormValue is what url.ParseQuery(body)[name] would give — how many
// values and the first — for a form body that needs no unescaping: no
// '%', '+' or ';' (a base64url token has none) and a few pairs. The answer
// is then the same without the map, the unescaping scan of every byte and
// their allocations; ok is false for any other body, which the caller
// hands to url.ParseQuery (its errors, its parameter limit).
func plainFormValue(body, name string) (first string, n int, ok bool) {
	if strings.IndexByte(body, '%') >= 0 || strings.IndexByte(body, '+') >= 0 ||
		strings.IndexByte(body, ';') >= 0 || strings.Count(body, "&") > maxPlainPairs {
		return "", 0, false
	}
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if key, value, _ := strings.Cut(pair, "="); key == name && pair != "" {
			if n == 0 {
				first = value
			}
			n++
		}
	}
	return first, n, true
}
