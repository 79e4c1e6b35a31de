package token

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// Limits on embed params and security policies (DESIGN §2).
const (
	MaxParams        = 32   // keys in params
	MaxParamsBytes   = 4096 // encoded JSON size of params
	MaxParamKeyLen   = 64   // characters in a params or policy params key
	MaxPolicies      = 32   // items in securityPolicies
	MaxPolicyNameLen = 128  // characters in a policy name
	MaxPolicyParams  = 32   // params of one policy
)

const (
	paramCurrencyFmt   = "currencyFormat"
	paramLocale        = "locale"
	paramCurrency      = "currency"
	maxEchoLen         = 32 // characters of user input quoted in a message
	maxLocaleTagLength = 64
)

// ValidateParams checks embed params: at most MaxParams non-empty keys of at
// most MaxParamKeyLen characters, each mapped to a string, number or bool
// (as JSON decoding produces them: string, float64, json.Number, bool; Go
// integer types are accepted too), with one exception: "currencyFormat" is
// an object with only "locale" and "currency" string members. "locale" must
// be a BCP 47 tag and "currency" an ISO 4217 code, at top level and inside
// currencyFormat. The encoded JSON is at most MaxParamsBytes. It returns an
// *apperr.Error naming the field ("params", "params.locale",
// "params.currencyFormat.currency", "params.<key>").
func ValidateParams(p map[string]any) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) > MaxParams {
		return apperr.Invalid("params", "at most %d keys allowed, got %d", MaxParams, len(p))
	}
	var buf [MaxParams]string
	keys := sortedKeys(p, buf[:0])
	if err := checkFoldUnique("params", keys); err != nil {
		return err
	}
	for _, k := range keys {
		if err := checkKey("params", k); err != nil {
			return err
		}
		field := fieldPath{"params", k}
		v := p[k]
		switch k {
		case paramLocale:
			if err := checkLocale(field, v); err != nil {
				return err
			}
			continue
		case paramCurrency:
			if err := checkCurrency(field, v); err != nil {
				return err
			}
			continue
		case paramCurrencyFmt:
			if err := checkCurrencyFormat(field, v); err != nil {
				return err
			}
			continue
		}
		if !isScalar(v) {
			return apperr.Invalid(field.String(), "must be a string, number or boolean")
		}
		if err := checkStringValue(field, v); err != nil {
			return err
		}
	}
	if encodedSizeBound(p) <= MaxParamsBytes {
		return nil // small enough whatever the escaping: skip encoding
	}
	b, err := json.Marshal(p)
	if err != nil {
		return apperr.Invalid("params", "cannot be encoded as JSON")
	}
	if len(b) > MaxParamsBytes {
		return apperr.Invalid("params", "encoded size %d bytes exceeds %d", len(b), MaxParamsBytes)
	}
	return nil
}

// encodedSizeBound bounds the size of json.Marshal(v) for validated params:
// every byte of a string is at most 6 bytes escaped (\u00XX).
func encodedSizeBound(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 2
		for k, e := range x {
			n += 2 + 6*len(k) + 1 + encodedSizeBound(e) + 1
		}
		return n
	case string:
		return 2 + 6*len(x)
	case json.Number:
		return len(x)
	case bool:
		return 5
	default: // numbers
		return 32
	}
}

// ValidatePolicies checks security policies: at most MaxPolicies items, each
// with a non-empty name of at most MaxPolicyNameLen characters and at most
// MaxPolicyParams params mapping non-empty keys of at most MaxParamKeyLen
// characters to a string, number or bool. It returns an *apperr.Error naming
// the field ("securityPolicies", "securityPolicies[3].name",
// "securityPolicies[0].params.region").
func ValidatePolicies(ps []Policy) error {
	if len(ps) > MaxPolicies {
		return apperr.Invalid("securityPolicies", "at most %d policies allowed, got %d", MaxPolicies, len(ps))
	}
	for i, p := range ps {
		prefix := "securityPolicies[" + strconv.Itoa(i) + "]"
		switch n := utf8.RuneCountInString(p.Name); {
		case n == 0:
			return apperr.Invalid(prefix+".name", "is required")
		case n > MaxPolicyNameLen || !utf8.ValidString(p.Name):
			return apperr.Invalid(prefix+".name", "must be valid UTF-8 of at most %d characters", MaxPolicyNameLen)
		}
		if err := CheckHeaderSafe(prefix+".name", p.Name); err != nil {
			return err
		}
		field := prefix + ".params"
		if len(p.Params) > MaxPolicyParams {
			return apperr.Invalid(field, "at most %d params allowed, got %d", MaxPolicyParams, len(p.Params))
		}
		var buf [MaxPolicyParams]string
		keys := sortedKeys(p.Params, buf[:0])
		if err := checkFoldUnique(field, keys); err != nil {
			return err
		}
		for _, k := range keys {
			if err := checkKey(field, k); err != nil {
				return err
			}
			if !isScalar(p.Params[k]) {
				return apperr.Invalid(field+"."+k, "must be a string, number or boolean")
			}
			if err := checkStringValue(fieldPath{field, k}, p.Params[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedKeys appends the keys of m to ks (a caller's buffer, so that a
// small map needs no allocation) and sorts them.
func sortedKeys(m map[string]any, ks []string) []string {
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkFoldUnique rejects keys that differ only in case ("b" beside "B"):
// the verifier refuses such member names at every level of a token, as
// encoding/json would match them to one field, so a token carrying them
// could be minted but never verified. keys are sorted; the error names the
// first key (in that order) that folds like an earlier one, and that one.
// Keys of invalid UTF-8 are left to checkKey, which refuses them.
func checkFoldUnique(parent string, keys []string) error {
	for j := 1; j < len(keys); j++ {
		if !utf8.ValidString(keys[j]) {
			continue
		}
		for i := 0; i < j; i++ {
			if foldEqual(keys[i], keys[j]) && utf8.ValidString(keys[i]) {
				return apperr.Invalid(parent, "keys %s and %s differ only in case", echo(keys[i]), echo(keys[j]))
			}
		}
	}
	return nil
}

// foldEqual reports whether a and b (valid UTF-8) fold to the same string:
// foldString(a) == foldString(b), without building either.
func foldEqual(a, b string) bool {
	for a != "" && b != "" {
		ra, na := rune(a[0]), 1
		if ra >= utf8.RuneSelf {
			ra, na = utf8.DecodeRuneInString(a)
		}
		rb, nb := rune(b[0]), 1
		if rb >= utf8.RuneSelf {
			rb, nb = utf8.DecodeRuneInString(b)
		}
		if ra != rb && foldRune(ra) != foldRune(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

// checkKey names the parent field, since a bad key can't be a field path.
// A key of printable ASCII is decided by plainKey alone.
func checkKey(parent, k string) error {
	if plainKey(k) {
		return nil
	}
	return checkKeySlow(parent, k)
}

// plainKey reports whether k is 1 to MaxParamKeyLen bytes of printable
// ASCII (0x20-0x7e) neither starting nor ending with a space: one pass that
// accepts only keys checkKeySlow accepts (one rune per byte, valid UTF-8,
// no control character, and the only ASCII white space that is not a
// control character is the space). Any other key goes to checkKeySlow
// (TestCheckKeyPlainMatchesSlow).
func plainKey(k string) bool {
	if k == "" || len(k) > MaxParamKeyLen || k[0] == ' ' || k[len(k)-1] == ' ' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkKeySlow is checkKey for any key.
func checkKeySlow(parent, k string) error {
	switch n := utf8.RuneCountInString(k); {
	case n == 0:
		return apperr.Invalid(parent, "keys must not be empty")
	case n > MaxParamKeyLen || !utf8.ValidString(k):
		return apperr.Invalid(parent, "key %s must be valid UTF-8 of at most %d characters", echo(k), MaxParamKeyLen)
	case !HeaderSafe(k):
		return apperr.Invalid(parent, "key %s must not hold control characters or leading or trailing white space", echo(k))
	}
	return nil
}

// checkStringValue refuses a string value that X-Sigil-Params or
// X-Sigil-Policies could not hand on byte for byte (see HeaderSafe).
func checkStringValue(field fieldPath, v any) error {
	if s, ok := v.(string); ok && !HeaderSafe(s) {
		return CheckHeaderSafe(field.String(), s)
	}
	return nil
}

// fieldPath is the field an error names, parent.key, built only when an
// error names it (params are checked on every mint; most are fine).
type fieldPath struct{ parent, key string }

func (f fieldPath) String() string { return f.parent + "." + f.key }

// isScalar reports whether v is a JSON string, number or bool.
func isScalar(v any) bool {
	switch x := v.(type) {
	case string, bool,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	case json.Number:
		// Out of float64 range (1e400) would make a token no parser can read.
		f, err := x.Float64()
		return err == nil && !math.IsInf(f, 0)
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	}
	return false
}

func checkCurrencyFormat(f fieldPath, v any) error {
	field := f.String()
	m, ok := v.(map[string]any)
	if !ok {
		return apperr.Invalid(field, `must be an object with "locale" and "currency" members`)
	}
	var buf [8]string
	for _, k := range sortedKeys(m, buf[:0]) {
		switch k {
		case paramLocale:
			if err := checkLocale(fieldPath{field, k}, m[k]); err != nil {
				return err
			}
		case paramCurrency:
			if err := checkCurrency(fieldPath{field, k}, m[k]); err != nil {
				return err
			}
		default:
			return apperr.Invalid(field, "unknown member %s: only locale and currency are allowed", echo(k))
		}
	}
	return nil
}

// checkLocale accepts a BCP 47 tag that golang.org/x/text/language parses,
// written with hyphens only (as Intl.NumberFormat requires), whose canonical
// form is neither "und" nor private use only.
func checkLocale(field fieldPath, v any) error {
	s, ok := v.(string)
	if !ok {
		return apperr.Invalid(field.String(), "must be a string")
	}
	if s == "" || len(s) > maxLocaleTagLength {
		return apperr.Invalid(field.String(), "must be a BCP 47 language tag such as de-DE")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return apperr.Invalid(field.String(), "invalid BCP 47 language tag %s", echo(s))
		}
	}
	if _, ok := localesOK.Load(s); ok {
		return nil
	}
	tag, err := language.Parse(s)
	if err != nil {
		return apperr.Invalid(field.String(), "invalid BCP 47 language tag %s", echo(s))
	}
	// "und" (or "root") names no locale; a private-use-only tag ("x-…") is
	// not a Unicode locale id, which Intl.NumberFormat requires.
	if t := tag.String(); t == "und" || strings.HasPrefix(t, "x-") {
		return apperr.Invalid(field.String(), "invalid BCP 47 language tag %s", echo(s))
	}
	if localesOKCount.Add(1) <= maxLocalesOK {
		localesOK.Store(s, struct{}{})
	}
	return nil
}

// localesOK remembers up to maxLocalesOK tags checkLocale accepted: parsing
// a tag costs more than the rest of a mint's validation, and a deployment
// sees a handful of locales. The verdict is a function of the text alone;
// only accepted tags are kept and never more than the bound, so a caller
// sending ever new tags costs parsing, not memory.
var (
	localesOK      sync.Map // string → struct{}
	localesOKCount atomic.Int64
)

const maxLocalesOK = 1024

// checkCurrency accepts three uppercase letters that
// golang.org/x/text/currency knows as an ISO 4217 code.
func checkCurrency(field fieldPath, v any) error {
	s, ok := v.(string)
	if !ok {
		return apperr.Invalid(field.String(), "must be a string")
	}
	if len(s) != 3 || !isUpper(s[0]) || !isUpper(s[1]) || !isUpper(s[2]) {
		return apperr.Invalid(field.String(), "invalid ISO 4217 currency code %s: want three uppercase letters such as EUR", echo(s))
	}
	if _, err := currency.ParseISO(s); err != nil {
		return apperr.Invalid(field.String(), "unknown ISO 4217 currency code %s", echo(s))
	}
	return nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// echo quotes user input for a message, truncated to maxEchoLen characters.
func echo(s string) string {
	n := 0
	for i := range s {
		if n == maxEchoLen {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}
