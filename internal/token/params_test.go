package token_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/token"
)

// requireInvalid asserts err is an apperr invalid_request naming field,
// with a short message.
func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	ae, ok := apperr.As(err)
	require.True(t, ok, "not an *apperr.Error: %v", err)
	require.Equal(t, apperr.CodeInvalid, ae.Code)
	require.Equal(t, field, ae.Field)
	require.LessOrEqual(t, len(ae.Message), 200, "message echoes too much input: %q", ae.Message)
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m["k"+strconv.Itoa(i)] = float64(i)
	}
	return m
}

func TestValidateParams(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		json  string         // decoded as a client's body would be, if set
		p     map[string]any // used if json is empty
		field string         // "" means valid
	}{
		{name: "OK/nil"},
		{name: "OK/empty", json: `{}`},
		{name: "OK/scalars", json: `{"a":"s","b":1.5,"c":-2,"d":true,"e":false,"f":""}`},
		{name: "OK/locale de-DE", json: `{"locale":"de-DE"}`},
		{name: "OK/locale en-US", json: `{"locale":"en-US"}`},
		{name: "OK/locale zh-Hant-TW", json: `{"locale":"zh-Hant-TW"}`},
		{name: "OK/locale with unicode extension", json: `{"locale":"de-DE-u-cu-eur"}`},
		{name: "OK/currency EUR", json: `{"currency":"EUR"}`},
		{name: "OK/currencyFormat", json: `{"currencyFormat":{"locale":"de-DE","currency":"EUR"}}`},
		{name: "OK/currencyFormat currency only", json: `{"currencyFormat":{"currency":"JPY"}}`},
		{name: "OK/32 keys", p: manyKeys(32)},
		{name: "OK/64-character key", p: map[string]any{strings.Repeat("é", 64): "v"}},
		{name: "OK/json.Number and ints", p: map[string]any{"a": json.Number("12"), "b": 3, "c": int64(4), "d": uint8(5)}},

		{name: "ErrLocale/xx-!!", json: `{"locale":"xx-!!"}`, field: "params.locale"},
		{name: "ErrLocale/empty", json: `{"locale":""}`, field: "params.locale"},
		{name: "ErrLocale/und", json: `{"locale":"und"}`, field: "params.locale"},
		{name: "ErrLocale/root canonicalizes to und", json: `{"locale":"root"}`, field: "params.locale"},
		{name: "ErrLocale/unknown language", json: `{"locale":"xx"}`, field: "params.locale"},
		{name: "ErrLocale/not well-formed", json: `{"locale":"abcdefghi"}`, field: "params.locale"},
		{name: "ErrLocale/underscore", json: `{"locale":"en_US"}`, field: "params.locale"},
		{name: "ErrLocale/private use only", json: `{"locale":"x-private"}`, field: "params.locale"},
		{name: "ErrLocale/huge", p: map[string]any{"locale": long}, field: "params.locale"},
		{name: "ErrLocale/number", json: `{"locale":5}`, field: "params.locale"},
		{name: "ErrCurrency/EURO", json: `{"currency":"EURO"}`, field: "params.currency"},
		{name: "ErrCurrency/eur", json: `{"currency":"eur"}`, field: "params.currency"},
		{name: "ErrCurrency/ZZZ", json: `{"currency":"ZZZ"}`, field: "params.currency"},
		{name: "ErrCurrency/empty", json: `{"currency":""}`, field: "params.currency"},
		{name: "ErrCurrency/bool", json: `{"currency":true}`, field: "params.currency"},
		{name: "ErrCurrencyFormat/bad locale", json: `{"currencyFormat":{"locale":"und","currency":"EUR"}}`, field: "params.currencyFormat.locale"},
		{name: "ErrCurrencyFormat/bad currency", json: `{"currencyFormat":{"locale":"de-DE","currency":"eur"}}`, field: "params.currencyFormat.currency"},
		{name: "ErrCurrencyFormat/extra member", json: `{"currencyFormat":{"locale":"de-DE","currency":"EUR","style":"x"}}`, field: "params.currencyFormat"},
		{name: "ErrCurrencyFormat/string", json: `{"currencyFormat":"de-DE"}`, field: "params.currencyFormat"},
		{name: "ErrCurrencyFormat/nested object", json: `{"currencyFormat":{"locale":{"x":1}}}`, field: "params.currencyFormat.locale"},
		{name: "ErrParams/33 keys", p: manyKeys(33), field: "params"},
		{name: "ErrParams/5 KB", p: map[string]any{"big": strings.Repeat("x", 5*1024)}, field: "params"},
		{name: "ErrParams/just over 4 KiB", p: map[string]any{"big": strings.Repeat("x", 4096-len(`{"big":""}`)+1)}, field: "params"},
		{name: "ErrParams/empty key", json: `{"":"v"}`, field: "params"},
		{name: "ErrParams/65-character key", p: map[string]any{strings.Repeat("k", 65): "v"}, field: "params"},
		{name: "ErrParams/huge key", p: map[string]any{long: "v"}, field: "params"},
		{name: "ErrValue/nested object", json: `{"filter":{"region":"EU"}}`, field: "params.filter"},
		{name: "ErrValue/array", json: `{"ids":[1,2]}`, field: "params.ids"},
		{name: "ErrValue/null", json: `{"x":null}`, field: "params.x"},
		// The verifier refuses member names that differ only in case, so
		// minting must too (found by FuzzMintRequest).
		{name: "ErrParams/case-variant keys", json: `{"B":0.0,"b":true}`, field: "params"},
		{name: "ErrParams/folded keys", json: `{"ſ":1,"S":2}`, field: "params"},
		{name: "OK/distinct keys", json: `{"b1":1,"B2":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if tc.json != "" {
				require.NoError(t, json.Unmarshal([]byte(tc.json), &p))
			}
			err := token.ValidateParams(p)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.field)
		})
	}

	t.Run("OK/exactly 4 KiB", func(t *testing.T) {
		p := map[string]any{"big": strings.Repeat("x", 4096-len(`{"big":""}`))}
		b, err := json.Marshal(p)
		require.NoError(t, err)
		require.Len(t, b, 4096)
		require.NoError(t, token.ValidateParams(p))
	})
}

func TestValidatePolicies(t *testing.T) {
	policies := func(n int) []token.Policy {
		ps := make([]token.Policy, n)
		for i := range ps {
			ps[i] = token.Policy{Name: "p" + strconv.Itoa(i)}
		}
		return ps
	}
	tests := []struct {
		name  string
		json  string
		ps    []token.Policy
		field string
	}{
		{name: "OK/nil"},
		{name: "OK/policies", json: `[{"name":"region","params":{"region":"EU","max":3,"strict":true}},{"name":"all"}]`},
		{name: "OK/32 policies", ps: policies(32)},
		{name: "OK/128-character name", ps: []token.Policy{{Name: strings.Repeat("n", 128)}}},
		{name: "ErrPolicies/33 policies", ps: policies(33), field: "securityPolicies"},
		{name: "ErrName/missing", json: `[{"name":"a"},{"name":"b"},{"name":"c"},{"params":{"a":1}}]`, field: "securityPolicies[3].name"},
		{name: "ErrName/129 characters", ps: []token.Policy{{Name: strings.Repeat("n", 129)}}, field: "securityPolicies[0].name"},
		{name: "ErrParams/nested object", json: `[{"name":"r","params":{"region":{"in":["EU"]}}}]`, field: "securityPolicies[0].params.region"},
		{name: "ErrParams/array", json: `[{"name":"a"},{"name":"r","params":{"region":["EU"]}}]`, field: "securityPolicies[1].params.region"},
		{name: "ErrParams/null", json: `[{"name":"r","params":{"region":null}}]`, field: "securityPolicies[0].params.region"},
		{name: "ErrParams/case-variant keys", json: `[{"name":"r","params":{"Region":"EU","region":"US"}}]`, field: "securityPolicies[0].params"},
		{name: "ErrParams/33 params", ps: []token.Policy{{Name: "r", Params: manyKeys(33)}}, field: "securityPolicies[0].params"},
		{name: "ErrParams/empty key", json: `[{"name":"r","params":{"":"x"}}]`, field: "securityPolicies[0].params"},
		{name: "ErrParams/65-character key", ps: []token.Policy{{Name: "r", Params: map[string]any{strings.Repeat("k", 65): 1.0}}}, field: "securityPolicies[0].params"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.ps
			if tc.json != "" {
				require.NoError(t, json.Unmarshal([]byte(tc.json), &ps))
			}
			err := token.ValidatePolicies(ps)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.field)
		})
	}
}

// TestValidateParamsLocaleMemory: accepted locales are remembered (the
// second check of a tag answers the same), rejected ones never are, and a
// flood of distinct valid tags leaves at most 1024 remembered.
func TestValidateParamsLocaleMemory(t *testing.T) {
	for range 2 {
		require.NoError(t, token.ValidateParams(map[string]any{"locale": "de-AT"}))
		require.Error(t, token.ValidateParams(map[string]any{"locale": "und"}))
		require.Error(t, token.ValidateParams(map[string]any{"locale": "x-private"}))
	}
	for i := range 3000 {
		// Distinct valid tags: a language with a private-use subtag.
		tag := fmt.Sprintf("en-x-%d", i)
		require.NoError(t, token.ValidateParams(map[string]any{"locale": tag}), tag)
	}
	require.LessOrEqual(t, token.LocalesRemembered(), 1024)
	require.NoError(t, token.ValidateParams(map[string]any{"locale": "en-x-2999"}))
	require.Error(t, token.ValidateParams(map[string]any{"locale": "und"}))
}
