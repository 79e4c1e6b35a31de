package openapicheck_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/openapi"
	"github.com/sigil-dev/sigil/test/openapicheck"
)

func newValidator(t *testing.T) *openapicheck.Validator {
	t.Helper()
	v, err := openapicheck.New()
	require.NoError(t, err)
	return v
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
}

const validJWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"

func TestValidator_Check(t *testing.T) {
	v := newValidator(t)
	mint := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:41234/api/v1/token", nil)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	const mintBody = `{"dashboardId":"sales","dashboardSecret":"s3cret","params":{"amount":1234.56,"currencyFormat":{"locale":"de-DE","currency":"EUR"}}}`
	tests := []struct {
		name    string
		req     *http.Request
		reqBody string
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		{name: "OK", req: mint(), reqBody: mintBody, status: 200, header: jsonHeader(),
			body: `{"accessToken":"` + validJWT + `","tokenType":"Bearer","expiresIn":3600,"expiresAt":"2030-01-02T03:04:05Z"}`},
		{name: "OKBadRequestRefused", req: mint(), reqBody: `{"dashboardId":"sales"}`, status: 400, header: jsonHeader(),
			body: `{"error":{"code":"invalid_request","message":"dashboardSecret is required","field":"dashboardSecret"}}`},
		{name: "OKUnknownPath404", req: httptest.NewRequest(http.MethodGet, "/nope", nil), status: 404, header: jsonHeader(),
			body: `{"error":{"code":"not_found","message":"no such resource"}}`},
		{name: "ErrWrongResponseShape", req: mint(), reqBody: mintBody, status: 200, header: jsonHeader(),
			body:    `{"accessToken":"` + validJWT + `","tokenType":"Bearer","expiresIn":"3600","expiresAt":"2030-01-02T03:04:05Z"}`,
			wantErr: "expiresIn"},
		{name: "ErrMissingField", req: mint(), reqBody: mintBody, status: 200, header: jsonHeader(),
			body: `{"tokenType":"Bearer","expiresIn":3600,"expiresAt":"2030-01-02T03:04:05Z"}`, wantErr: "accessToken"},
		{name: "ErrExtraField", req: mint(), reqBody: mintBody, status: 200, header: jsonHeader(),
			body:    `{"accessToken":"` + validJWT + `","tokenType":"Bearer","expiresIn":3600,"expiresAt":"2030-01-02T03:04:05Z","secret":"x"}`,
			wantErr: "secret"},
		{name: "ErrUndocumentedStatus", req: mint(), reqBody: mintBody, status: http.StatusTeapot, header: jsonHeader(),
			body: `{}`, wantErr: "418"},
		{name: "ErrErrorShape", req: mint(), reqBody: `{"dashboardId":"sales"}`, status: 400, header: jsonHeader(),
			body: `{"message":"bad"}`, wantErr: "error"},
		{name: "ErrBadRequestAccepted", req: mint(), reqBody: `{"dashboardId":"sales","extra":1}`, status: 200, header: jsonHeader(),
			body:    `{"accessToken":"` + validJWT + `","tokenType":"Bearer","expiresIn":3600,"expiresAt":"2030-01-02T03:04:05Z"}`,
			wantErr: "does not match"},
		{name: "ErrUnauthorizedWithoutChallenge", req: mint(), reqBody: mintBody, status: 401, header: jsonHeader(),
			body: `{"error":{"code":"unauthorized","message":"invalid dashboard credentials"}}`, wantErr: "WWW-Authenticate"},
		{name: "ErrUnknownPathAnswered200", req: httptest.NewRequest(http.MethodGet, "/nope", nil), status: 200, header: jsonHeader(),
			body: `{}`, wantErr: "not in the OpenAPI document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(tc.req, []byte(tc.reqBody), tc.status, tc.header, []byte(tc.body))
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestValidator_Transport shows the wiring the end-to-end suite uses: a
// server whose answer drifts from the document makes the client call fail.
func TestValidator_Transport(t *testing.T) {
	v := newValidator(t)
	shape := `{"status":"ok"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, shape)
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: v.Transport(nil)}

	t.Run("OK", func(t *testing.T) {
		resp, err := client.Get(srv.URL + "/healthz")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.JSONEq(t, shape, string(b), "the body is handed on unchanged")
	})
	t.Run("ErrWrongShape", func(t *testing.T) {
		shape = `{"status":"fine","uptime":3}`
		_, err := client.Get(srv.URL + "/healthz")
		require.Error(t, err)
		require.Contains(t, err.Error(), "openapicheck")
	})
	t.Run("OKRequestBodyPassedOn", func(t *testing.T) {
		shape = `{"status":"ok"}`
		var got []byte
		echoSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":"invalid_request","message":"m","field":"dashboardSecret"}}`)
		}))
		t.Cleanup(echoSrv.Close)
		body := `{"dashboardId":"sales"}`
		resp, err := client.Post(echoSrv.URL+"/api/v1/token", "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, body, string(got))
	})
}

// TestDocument_Served checks the JSON form is the YAML document.
func TestDocument_Served(t *testing.T) {
	b, err := openapi.JSON()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.True(t, strings.HasPrefix(doc["openapi"].(string), "3."))
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/token", "/api/v1/verify", "/view/{token}", "/api/reports/{id}/_cloud-publish", "/sdk/sigil-embed.js", "/demo/", "/openapi.json", "/metrics"} {
		require.Contains(t, paths, p)
	}
}
