package main

import (
	"net/http"
	"reflect"
	"testing"
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
