package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"unsafe"

	"github.com/labstack/echo/v4"
)

func TestParseAnswer(t *testing.T) {
	hdr, body, err := parseAnswer([]byte("cache-control: no-store\nX-Sigil-Kind: embed\nX-Multi: a\nX-Multi: b\n\n{\"active\":true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Cache-Control": {"no-store"}, "X-Sigil-Kind": {"embed"}, "X-Multi": {"a", "b"}}
	if !reflect.DeepEqual(hdr, want) {
		t.Errorf("headers = %v, want %v", hdr, want)
	}
	if string(body) != "{\"active\":true}\n" {
		t.Errorf("body = %q", body)
	}
	for _, bad := range []string{"X-A: 1\n", "no colon\n\nbody", ": nameless\n\nbody"} {
		if _, _, err := parseAnswer([]byte(bad)); err == nil {
			t.Errorf("parseAnswer(%q): no error", bad)
		}
	}
}

func TestCachedAnswersServeListedTokensOnly(t *testing.T) {
	hdr := http.Header{"Cache-Control": {"no-store"}, "X-Sigil-Subject": {"user-1"}, "X-Sigil-Kind": {"embed"}}
	body := []byte(`{"active":true}`)
	ac := cachedAnswers(hdr, body, []string{"tok-a", "tok-b"})
	e := echo.New()
	e.GET("/", ac.serve)
	get := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	for _, tok := range []string{"tok-a", "tok-b"} {
		w := get("Bearer " + tok)
		if w.Code != http.StatusOK || w.Body.String() != string(body) {
			t.Fatalf("%s: %d %q", tok, w.Code, w.Body.String())
		}
		for k, vs := range hdr {
			if got := w.Header()[k]; !reflect.DeepEqual(got, vs) {
				t.Errorf("%s: %s = %q, want %q", tok, k, got, vs)
			}
		}
	}
	for _, auth := range []string{"", "Bearer tok-c", "tok-a", "Basic tok-a"} {
		if w := get(auth); w.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, w.Code)
		}
	}
	// Each token has its own copy: the memory a cache of many tokens touches.
	a, b := ac.answers["tok-a"], ac.answers["tok-b"]
	if &a.body[0] == &b.body[0] || unsafe.StringData(a.vals[0]) == unsafe.StringData(b.vals[0]) {
		t.Error("two tokens share one answer's memory")
	}
}
