package token_test

import (
	"testing"

	"github.com/sigil-dev/sigil/internal/token"
)

// queryTokenEveryPair is QueryToken without its shortcut for queries that
// cannot name a token: every pair split, unescaped and compared.
var queryTokenEveryPair = token.QueryTokenPairs

// TestQueryToken_MatchesEveryPair: QueryToken's shortcut (a query without
// k, K, % or a non-ASCII byte names no token) gives what reading every
// pair gives, for the spellings a hostile caller would try to slip a
// second token past the count (escaped letters, upper case, the Kelvin
// sign that folds to k, ; separators, +) and for plain queries; and
// FuzzQueryToken_MatchesEveryPair extends it to any query.
func TestQueryToken_MatchesEveryPair(t *testing.T) {
	for _, q := range queryTokenSeeds {
		tok, n := token.QueryToken(q)
		wantTok, wantN := queryTokenEveryPair(q)
		if tok != wantTok || n != wantN {
			t.Errorf("QueryToken(%q) = %q, %d; want %q, %d", q, tok, n, wantTok, wantN)
		}
	}
	// The shortcut is taken: these name no token.
	for _, q := range []string{"", "lang=de", "a=1&b=2;c=3", "x=+y", "_method=DELETE"} {
		if _, n := token.QueryToken(q); n != 0 {
			t.Errorf("QueryToken(%q) counts %d", q, n)
		}
	}
}

var queryTokenSeeds = []string{
	"", "lang=de", "token=abc", "TOKEN=abc", "ToKeN=abc&token=def", "access_token=x", "ACCESS_TOKEN=x",
	"%74oken=abc", "to%6Ben=abc", "to%6ben=abc", "to%4Ben=abc", "tok%65n=x", "to\u212aen=abc",
	"acce\u017fs_token=x", "a=1;token=2", "a=1&&token=2&", "token", "token=", "=token", "x=token",
	"lang=de&token=a&access_token=b", "to+ken=x", "to%2Bken=x", "%zz=1&token=2", "tok%en=1",
	"t%6Fken=1", "%E2%84%AAtoken=1", "to%E2%84%AAen=1", "k=1", "K=1", "\u00e9=1&token=z",
}

func FuzzQueryToken_MatchesEveryPair(f *testing.F) {
	for _, q := range queryTokenSeeds {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		tok, n := token.QueryToken(q)
		wantTok, wantN := queryTokenEveryPair(q)
		if tok != wantTok || n != wantN {
			t.Fatalf("QueryToken(%q) = %q, %d; want %q, %d", q, tok, n, wantTok, wantN)
		}
	})
}
