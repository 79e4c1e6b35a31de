package e2e_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// badInput is one malformed request of the sweep.
type badInput struct {
	name   string
	method string
	path   string
	body   string
	ctype  string            // Content-Type; none when empty
	header map[string]string // extra headers
	admin  bool              // HTTP Basic as the admin client
	// raw is sent as is over TCP instead (it must hold the whole request).
	raw string
	// want is the expected status (0: any 4xx); field the expected error
	// field (none checked when empty).
	want  int
	field string
	// plain marks an answer that net/http writes itself before any handler
	// runs (a request it cannot parse, headers over http.Server's
	// MaxHeaderBytes): a 4xx, but text, not JSON.
	plain bool
}

// jsonEndpoint is an endpoint taking a JSON body, and a known field of it
// with a value of the wrong type.
type jsonEndpoint struct {
	name, method, path string
	admin              bool
	wrongType          string // a body whose field has the wrong type
	field              string
}

// badInputs builds the sweep: every JSON endpoint gets every body attack,
// every token-bearing endpoint every token attack, then form, query,
// header and protocol attacks. tok is a live token, tid a token record id.
func badInputs(tok, tid string) []badInput {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	deepObj := strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000)
	huge := `{"dashboardId":"` + strings.Repeat("a", 70<<10) + `"}`
	endpoints := []jsonEndpoint{
		{"Mint", http.MethodPost, "/api/v1/token", false, `{"dashboardId":42,"dashboardSecret":"x"}`, "dashboardId"},
		{"RevokeAll", http.MethodPost, "/api/v1/revoke-all", true, `{"sub":["a"]}`, "sub"},
		{"CreateToken", http.MethodPost, "/api/tokens", true, `{"type":"report","reportId":{"a":1}}`, "reportId"},
		{"UpdateToken", http.MethodPatch, "/api/tokens/" + tid, true, `{"name":false}`, "name"},
		{"CreateClient", http.MethodPost, "/api/clients", true, `{"id":"x","resources":"dashboard:x"}`, "resources"},
	}
	var cases []badInput
	for _, ep := range endpoints {
		add := func(name, body, ctype string, want int, field string) {
			cases = append(cases, badInput{
				name: ep.name + "/" + name, method: ep.method, path: ep.path, body: body, ctype: ctype,
				admin: ep.admin, want: want, field: field,
			})
		}
		j := "application/json"
		add("Syntax", `{"a":`, j, 400, "")
		add("NotAnObject", `["dashboardId"]`, j, 400, "")
		add("String", `"hello"`, j, 400, "")
		add("Empty", ``, j, 400, "")
		add("Whitespace", " \n\t ", j, 400, "")
		add("UnknownField", `{"bogus":1}`, j, 400, "bogus")
		add("WrongType", ep.wrongType, j, 400, ep.field)
		add("InvalidUTF8", "{\"name\":\"\xff\xfe\"}", j, 400, "")
		add("DeepArray", `{"`+ep.field+`":`+deep+`}`, j, 400, "")
		add("DeepObject", deepObj, j, 400, "")
		add("TooLarge", huge, j, 413, "")
		add("TrailingData", `{} {}`, j, 400, "")
		add("TextPlain", `{}`, "text/plain", 415, "Content-Type")
		add("NoContentType", `{}`, "", 415, "Content-Type")
		add("BadMediaType", `{}`, "application/json; charset", 415, "Content-Type")
		add("FormBody", `a=1`, "application/x-www-form-urlencoded", 415, "Content-Type")
		add("HugeNumber", `{"`+ep.field+`":1e999}`, j, 400, ep.field)
	}

	bearerEPs := []struct{ name, method, path string }{
		{"Verify", http.MethodGet, "/api/v1/verify"},
		{"Invalidate", http.MethodPost, "/api/v1/invalidate-token"},
		{"Refresh", http.MethodPost, "/api/v1/token/refresh"},
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x","jti":"j","tt":"embed","dashboardId":"sales"}`))
	for _, ep := range bearerEPs {
		add := func(name, authz string, want int) {
			cases = append(cases, badInput{
				name: ep.name + "/" + name, method: ep.method, path: ep.path,
				header: map[string]string{"Authorization": authz}, want: want,
			})
		}
		add("Garbage", "Bearer not-a-token", 401)
		add("NoToken", "Bearer ", 401)
		add("AlgNone", "Bearer "+none+"."+payload+".", 401)
		add("Oversized9KiB", "Bearer "+strings.Repeat("A", 9<<10)+".e30.sig", 401)
		add("BadChars", "Bearer "+tok[:20]+"$"+tok[21:], 401)
		add("TamperedSignature", "Bearer "+tok[:len(tok)-2]+flipChar(tok[len(tok)-2])+tok[len(tok)-1:], 401)
		add("InvalidUTF8", "Bearer \xff\xfe.\xff.\xff", 401)
		cases = append(cases, badInput{
			name: ep.name + "/HeaderOver64KiB", method: ep.method, path: ep.path,
			header: map[string]string{"Authorization": "Bearer " + strings.Repeat("A", 1<<20)},
			want:   http.StatusRequestHeaderFieldsTooLarge, plain: true,
		})
	}

	formEPs := []struct{ name, path string }{{"Introspect", "/api/v1/introspect"}, {"Revoke", "/api/v1/revoke"}}
	for _, ep := range formEPs {
		add := func(name, body, ctype string, want int, field string) {
			cases = append(cases, badInput{
				name: ep.name + "/" + name, method: http.MethodPost, path: ep.path, body: body, ctype: ctype,
				admin: true, want: want, field: field,
			})
		}
		f := "application/x-www-form-urlencoded"
		add("JSONBody", `{"token":"x"}`, "application/json", 415, "Content-Type")
		add("MalformedForm", "token=%zz", f, 400, "")
		add("MissingToken", "other=1", f, 400, "token")
		add("EmptyToken", "token=", f, 400, "token")
		add("TwoTokens", "token=a&token=b", f, 400, "token")
		add("TooLarge", "token="+strings.Repeat("a", 70<<10), f, 413, "")
	}

	more := []badInput{
		// Client authentication.
		{name: "Basic/NotBase64", method: http.MethodGet, path: "/api/clients", header: map[string]string{"Authorization": "Basic %%%"}, want: 401},
		{name: "Basic/NoColon", method: http.MethodGet, path: "/api/clients", header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin"))}, want: 401},
		{name: "Basic/WrongSecret", method: http.MethodGet, path: "/api/clients", header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:wrong"))}, want: 401},
		{name: "Basic/HugeSecret", method: http.MethodGet, path: "/api/clients", header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+strings.Repeat("s", 30<<10)))}, want: 401},
		{name: "Basic/BearerOnAdmin", method: http.MethodGet, path: "/api/clients", header: map[string]string{"Authorization": "Bearer " + tok}, want: 401},
		// Forward-auth URIs.
		{name: "Verify/BadForwardedURI", method: http.MethodGet, path: "/api/v1/verify", header: map[string]string{"X-Forwarded-Uri": "::not a uri"}, want: 400, field: "X-Forwarded-Uri"},
		{name: "Verify/BadOriginalURI", method: http.MethodGet, path: "/api/v1/verify", header: map[string]string{"X-Original-URI": "%zz"}, want: 400, field: "X-Original-URI"},
		{name: "Verify/QueryTokenGarbage", method: http.MethodGet, path: "/api/v1/verify?token=%FF%FE", want: 401},
		{name: "Verify/QueryTokenOversized", method: http.MethodGet, path: "/api/v1/verify?token=" + strings.Repeat("A", 20<<10), want: 401},
		{name: "Verify/NoToken", method: http.MethodGet, path: "/api/v1/verify", want: 401},
		// Listings, paths and methods.
		{name: "ListTokens/BadCursor", method: http.MethodGet, path: "/api/tokens?cursor=%00%01garbage", admin: true, want: 400, field: "cursor"},
		{name: "ListTokens/BadStatus", method: http.MethodGet, path: "/api/tokens?status=bogus", admin: true, want: 400, field: "status"},
		{name: "ListTokens/BadType", method: http.MethodGet, path: "/api/tokens?type=bogus", admin: true, want: 400, field: "type"},
		{name: "ListTokens/BadLimit", method: http.MethodGet, path: "/api/tokens?limit=-5", admin: true, want: 400, field: "limit"},
		{name: "TokenLogs/BadCursor", method: http.MethodGet, path: "/api/tokens/" + tid + "/logs?cursor=!!", admin: true, want: 400, field: "cursor"},
		{name: "GetToken/Unknown", method: http.MethodGet, path: "/api/tokens/" + strings.Repeat("z", 300), admin: true, want: 0},
		{name: "GetClient/EncodedSlash", method: http.MethodGet, path: "/api/clients/a%2Fb%00c", admin: true, want: 0},
		{name: "UnknownPath", method: http.MethodGet, path: "/api/v1/nope", want: 404},
		{name: "WrongMethod", method: http.MethodDelete, path: "/api/v1/token", want: 405},
		{name: "PathTraversal", method: http.MethodGet, path: "/api/v1/../../etc/passwd", want: 0},
		{name: "RoleGrant/NoAuth", method: http.MethodPut, path: "/api/owners/bob/roles/api-tokens", want: 401},
		// Protocol level: net/http answers these itself.
		{name: "Raw/HeaderInjectionCR", raw: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: b\r\n\r\n", want: 400, plain: true},
		{name: "Raw/HeaderNameSpace", raw: "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: b\r\n\r\n", want: 400, plain: true},
		{name: "Raw/HeaderNUL", raw: "GET /api/v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\n\r\n", want: 400, plain: true},
		{name: "Raw/BadRequestLine", raw: "GARBAGE\r\n\r\n", want: 400, plain: true},
		{name: "Raw/NoHost", raw: "GET /healthz HTTP/1.1\r\n\r\n", want: 400, plain: true},
		{name: "Raw/ContentLengthLies", raw: "POST /api/v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}", want: 400, field: ""},
		{name: "Raw/TwoContentLengths", raw: "POST /api/v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", want: 400, plain: true},
		{name: "Raw/ChunkedTooLarge", raw: "POST /api/v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 70<<10, strings.Repeat("a", 70<<10)), want: 413},
	}
	return append(cases, more...)
}

func flipChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestE2E_BadInputSweep sends every malformed request of badInputs to the
// built binary (memory store) over real HTTP, so that body limits and the
// http.Server's header limits are the real ones, and requires a 4xx JSON
// error naming the field where there is one; then the server must still be
// healthy: healthz 200, and a fresh mint + verify still works.
func TestE2E_BadInputSweep(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, inst.URL, "sales", secret)
	tid, _ := e2eReportToken(t, inst.URL, "sweep", false)

	cases := badInputs(tok, tid)
	if len(cases) < 80 {
		t.Fatalf("the sweep has %d cases, want at least 80", len(cases))
	}
	t.Logf("sending %d malformed requests", len(cases))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := sendBad(t, inst.URL, tc)
			if status < 400 || status >= 500 {
				t.Fatalf("status %d, want a 4xx; body %.200q", status, body)
			}
			if tc.want != 0 && status != tc.want {
				t.Fatalf("status %d, want %d; body %.200q", status, tc.want, body)
			}
			if tc.plain {
				return
			}
			if !strings.HasPrefix(ctype, "application/json") {
				t.Fatalf("Content-Type %q, want JSON; body %.200q", ctype, body)
			}
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Field   string `json:"field"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("not a JSON error body (%v): %.200q", err, body)
			}
			if tc.field != "" && e.Error.Field != tc.field {
				t.Fatalf("error names field %q, want %q: %s", e.Error.Field, tc.field, body)
			}
		})
	}

	e2eWantStatus(t, "healthz after the sweep", e2eDo(t, http.MethodGet, inst.URL+"/healthz", "", nil).Status, http.StatusOK)
	fresh := e2eMint(t, inst.URL, "sales", secret)
	e2eWantStatus(t, "verify of a fresh token after the sweep", e2eVerify(t, inst.URL, fresh), http.StatusOK)
	e2eWantStatus(t, "verify of the earlier token after the sweep", e2eVerify(t, inst.URL, tok), http.StatusOK)
	for _, l := range strings.Split(inst.Stderr.String(), "\n") {
		if strings.Contains(l, "panic") || regexp.MustCompile(`"status":5\d\d`).MatchString(l) {
			t.Fatalf("the server logged a panic or a 5xx: %s", l)
		}
	}
}

// e2ePlainClient sends the requests that net/http answers itself, before
// any route: those answers are not sigil's API.
var e2ePlainClient = &http.Client{Timeout: 10 * time.Second}

// sendBad sends tc and returns the status, Content-Type and body.
func sendBad(t *testing.T, base string, tc badInput) (int, string, string) {
	t.Helper()
	if tc.raw != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, tc.raw); err != nil {
			t.Fatalf("write: %v", err)
		}
		// Nothing more comes: a body shorter than its Content-Length ends.
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatalf("close write: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	var rd io.Reader
	if tc.body != "" {
		rd = strings.NewReader(tc.body)
	}
	req, err := http.NewRequest(tc.method, base+tc.path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if tc.ctype != "" {
		req.Header.Set("Content-Type", tc.ctype)
	}
	if tc.admin {
		req.SetBasicAuth("admin", e2eAdminSecret)
	}
	for k, v := range tc.header {
		req.Header[k] = []string{v} // as is, not canonicalised or checked
	}
	hc := e2eClient
	if tc.plain {
		hc = e2ePlainClient // net/http's own answer: no API contract applies
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", tc.method, tc.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
