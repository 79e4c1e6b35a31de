package registry

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// NameKey is the form of a name that uniqueness compares: NFKC, Unicode
// full case folding, NFKC again (as Unicode's NFKC_Casefold does), so that
// names a reader cannot tell apart are one name: "CI" and "ci", "ſtop"
// and "stop", "straße" and "STRASSE", "Σίσυφος" and "ΣΊΣΥΦΟΣ",
// full-width "Ｄｕｐ１" and "Dup1". For ASCII it is strings.ToLower, the
// key of the registry's layout 2 (internal/store/redis migrates the rest).
func NameKey(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(name)
	}
	// A Caser is stateful: one per call.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(name)))
}

// invisible reports the characters a name may not hold because a reader
// cannot see them: format characters (Unicode Cf: zero-width space and
// joiners, the BOM, bidi controls, soft hyphen), the other default-
// ignorable code points (Hangul fillers, combining grapheme joiner, ...)
// and variation selectors.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

// checkName is checkText for a token's name, which also may not hold
// invisible characters: two names that look the same in the console's
// list and dialogs must be the same name (NameKey), else an admin can be
// led to revoke or regenerate the wrong token.
func checkName(field, v string, max int) error {
	if err := checkText(field, v, max); err != nil {
		return err
	}
	if i := strings.IndexFunc(v, invisible); i >= 0 {
		r := []rune(v[i:])[0]
		return apperr.Invalid(field, "must not contain invisible or format characters (%s)", fmt.Sprintf("U+%04X", r))
	}
	return nil
}
