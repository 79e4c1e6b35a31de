package token

import (
	"strings"
	"testing"
)

// FuzzCheckShape compares checkShape's fast confirmation with the byte loop
// it falls back to (checkShapeExact): same dots, same error, for any input.
func FuzzCheckShape(f *testing.F) {
	for _, s := range []string{
		"", ".", "..", "a.b.c", "a.b.c.", "a..c", ".b.c", "a.b.", "a.b", "a.b.c.d",
		"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln", "ab+c.d.e", "a.b/c.d", "a.b.c=",
		"a b.c.d", "a.b.c\x00", "a.b.\xffc", strings.Repeat("A", MaxTokenSize-4) + ".b.c",
		strings.Repeat("A", MaxTokenSize-3) + ".b.c", "abcdefgh.ijklmnop.qrstuvwx", "abcdefg!.b.c",
		"a.bcdefghi.jklmnop.q", strings.Repeat("-_", 40) + "." + strings.Repeat("09", 9) + ".Zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d1, d2, err := checkShape(raw)
		e1, e2, errExact := checkShapeExact(raw)
		if (err == nil) != (errExact == nil) || err != nil && err.Error() != errExact.Error() {
			t.Fatalf("checkShape(%q) = %v, the byte loop says %v", raw, err, errExact)
		}
		if err == nil && (d1 != e1 || d2 != e2) {
			t.Fatalf("checkShape(%q) dots %d,%d, the byte loop %d,%d", raw, d1, d2, e1, e2)
		}
	})
}
