package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAttack4_MintDecodeOnStack: mint bodies against decodeMint (the
// request decoded on the stack, the strict copy only when the fast path
// declines). Duplicates (also in another case or spelt with escapes),
// unknown or case-variant names, trailing data, numbers that are not
// whole, negative or overflowing, wrong types and a second JSON value are
// 400s with no token; the right secret written with JSON escapes (the
// strict path) still mints, for the right dashboard; a secret with a
// trailing NUL or escaped near miss is a 401.
func TestAttack4_MintDecodeOnStack(t *testing.T) {
	f := newAPI(t)
	s := f.dashSecret
	esc := strings.Builder{}
	for _, r := range s {
		fmt.Fprintf(&esc, `\u%04x`, r)
	}
	for name, body := range map[string]string{
		"duplicate id":           `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","dashboardId":"other"}`,
		"duplicate secret":       `{"dashboardId":"` + dashID + `","dashboardSecret":"x","dashboardSecret":"` + s + `"}`,
		"escaped duplicate name": `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","dashboard\u0049d":"other"}`,
		"case variant":           `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","DashboardId":"other"}`,
		"case variant only":      `{"DASHBOARDID":"` + dashID + `","dashboardSecret":"` + s + `"}`,
		"unknown":                `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","admin":true}`,
		"trailing":               `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `"}x`,
		"second value":           `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `"}{}`,
		"expiry float":           `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","tokenExpiry":60.5}`,
		"expiry exponent":        `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","tokenExpiry":6e1}`,
		"expiry negative":        `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","tokenExpiry":-60}`,
		"expiry overflow":        `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","tokenExpiry":99999999999999999999}`,
		"expiry string":          `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","tokenExpiry":"60"}`,
		"id number":              `{"dashboardId":1,"dashboardSecret":"` + s + `"}`,
		"params array":           `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","params":["a"]}`,
		"params nested":          `{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `","params":{"a":{"b":{"c":1}}}}`,
		"array body":             `[{"dashboardId":"` + dashID + `","dashboardSecret":"` + s + `"}]`,
		"null":                   `null`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := f.postJSON("/api/v1/token", body)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			require.NotContains(t, rec.Body.String(), "accessToken")
			require.NotContains(t, rec.Body.String(), s)
		})
	}
	rec := f.postJSON("/api/v1/token", `{"dashboardId":"`+dashID+`","dashboardSecret":"`+esc.String()+`","sub":"esc\u0061ped"}`)
	tr := f.tokenOK(rec)
	claims, err := payloadOf(tr.AccessToken)
	require.NoError(t, err)
	require.Equal(t, "escaped", claims["sub"])
	require.Equal(t, dashID, claims["dashboardId"])
	e := esc.String()
	near := e[:len(e)-1] + "0" // the last character's escape, one code point off
	if strings.HasSuffix(e, "0") {
		near = e[:len(e)-1] + "1"
	}
	for _, secret := range []string{s + `\u0000`, near, `\u0000` + s} {
		rec := f.postJSON("/api/v1/token", `{"dashboardId":"`+dashID+`","dashboardSecret":"`+secret+`"}`)
		require.Equal(t, http.StatusUnauthorized, rec.Code, "%s: %s", secret, rec.Body.String())
	}
}
