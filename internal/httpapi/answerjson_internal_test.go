package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sigil-dev/sigil/internal/token"
)

// answerJSONCases are values of every type verified claims hold, with
// strings that need each of encoding/json's escapes.
func answerJSONCases() []any {
	strs := []string{"", "plain", `q"b\s`, "<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f", "é🙂\u2028\u2029", "bad\xffutf8\xc3", "\u00e9\u0301"}
	var vs []any
	for _, s := range strs {
		vs = append(vs, s, map[string]any{s: s}, []any{s})
	}
	return append(vs,
		nil, true, false, json.Number("12"), json.Number("-0.5e+10"), json.Number(""), json.Number("01"), json.Number("1e400"),
		map[string]any{"b": 1.5}, // a float: json.Marshal's
		map[string]any{}, map[string]any(nil), []any{}, []any(nil),
		map[string]any{"z": json.Number("1"), "a": []any{nil, true, map[string]any{"y": "x", "x": []any{}}}, "m": map[string]any{}},
		[]token.Policy{}, []token.Policy(nil),
		[]token.Policy{{Name: "r", Params: map[string]any{"region": "EU", "n": json.Number("3")}}, {Name: "<s>"}, {Params: map[string]any{}}},
		[]token.Policy{{Name: "x", Params: map[string]any{"f": float32(1)}}},
	)
}

// TestAnswerJSONMatchesEncodingJSON holds the hand-written JSON of the
// verify answer to json.Marshal, byte for byte.
func TestAnswerJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range answerJSONCases() {
		want, wantErr := json.Marshal(v)
		got, err := marshalAnswerJSON(v)
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%#v: got %s (%v), json.Marshal %s (%v)", v, got, err, want, wantErr)
		}
	}
	for _, s := range []string{"", "u", "<&>\u2028\"\\\n\xff"} {
		for _, exp := range []int64{0, 1, -1, 1 << 40} {
			r := verifyResponse{Active: true, Subject: s, Kind: "embed" + s, Scope: s, Resource: "dashboard:" + s, Exp: exp}
			want, _ := json.Marshal(r)
			if got := appendVerifyResponse(nil, r); !bytes.Equal(got, want) {
				t.Fatalf("%+v: got %s, json.Marshal %s", r, got, want)
			}
		}
	}
}

// FuzzAnswerJSON compares the hand-written JSON with json.Marshal over
// arbitrary strings and arbitrary JSON decoded as verified claims are
// (UseNumber).
func FuzzAnswerJSON(f *testing.F) {
	f.Add("plain", []byte(`{"a":[1,"<b>",{"c":null}],"d":true}`))
	f.Add("\u2028<&>\xff\x00", []byte(`[{"name":"r","params":{"x":"\u2029"}}]`))
	f.Fuzz(func(t *testing.T, s string, doc []byte) {
		r := verifyResponse{Active: true, Subject: s, Kind: s, Scope: s, Resource: s, Exp: int64(len(s))}
		want, _ := json.Marshal(r)
		if got := appendVerifyResponse(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("%+v: got %s, json.Marshal %s", r, got, want)
		}
		var vs []any
		vs = append(vs, s, map[string]any{s: s})
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			vs = append(vs, v)
		}
		var ps []token.Policy
		dec = json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&ps) == nil {
			vs = append(vs, ps)
		}
		for _, v := range vs {
			want, wantErr := json.Marshal(v)
			got, err := marshalAnswerJSON(v)
			if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("%#v: got %s (%v), json.Marshal %s (%v)", v, got, err, want, wantErr)
			}
		}
	})
}
