package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestE2E_ConfigInvalid(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "sigil.yaml")
	if err := os.WriteFile(cfgFile, []byte("audience: sigil\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // named in stderr
	}{
		{name: "ErrAddr", env: map[string]string{"SIGIL_ADDR": "nonsense"}, want: "SIGIL_ADDR"},
		{name: "ErrLeeway", env: map[string]string{"SIGIL_TOKENS_LEEWAY": "6m"}, want: "SIGIL_TOKENS_LEEWAY"},
		{name: "ErrRedisWithoutPepper", env: map[string]string{"SIGIL_REDIS_URL": "redis://127.0.0.1:1"}, want: "SIGIL_PEPPER"},
		{name: "ErrUnknownFileKey", args: []string{"--config", cfgFile}, want: "bogus_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SIGIL_ADDR": "127.0.0.1:0", "SIGIL_KEYS_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			start := time.Now()
			code, out, errOut := e2eRun(t, env, append([]string{"serve"}, tt.args...)...)
			if code == 0 {
				t.Fatalf("exit 0 after %s, want non-zero; stdout:\n%s", time.Since(start), out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr does not name %s:\n%s", tt.want, errOut)
			}
		})
	}
}

func TestE2E_CLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")

	t.Run("KeysGenerate", func(t *testing.T) {
		path, kid := e2eGenerateKey(t, "RS256", dir)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", path, mode)
		}
		code, out, errOut := e2eRun(t, nil, "keys", "list", "--dir", dir)
		if code != 0 {
			t.Fatalf("keys list: exit %d: %s", code, errOut)
		}
		if !regexp.MustCompile(`(?m)^\*\s+` + regexp.QuoteMeta(kid) + `\s+RS256\s`).MatchString(out) {
			t.Errorf("keys list does not mark %s (RS256) active:\n%s", kid, out)
		}
	})

	t.Run("TokenDecode", func(t *testing.T) {
		enc := base64.RawURLEncoding.EncodeToString
		jwt := enc([]byte(`{"alg":"EdDSA","kid":"k1","typ":"JWT"}`)) + "." +
			enc([]byte(`{"iss":"https://sigil.e2e.test","dashboardId":"sales"}`)) + "." + enc([]byte("sig"))
		code, out, errOut := e2eRun(t, nil, "token", "decode", jwt)
		if code != 0 {
			t.Fatalf("token decode: exit %d: %s", code, errOut)
		}
		for _, want := range []string{"header:", `"kid": "k1"`, "claims:", `"dashboardId": "sales"`} {
			if !strings.Contains(out, want) {
				t.Errorf("token decode stdout lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, "NOT VERIFIED") {
			t.Errorf("token decode stderr does not say NOT VERIFIED:\n%s", errOut)
		}
	})

	t.Run("ErrTokenDecodeGarbage", func(t *testing.T) {
		if code, _, _ := e2eRun(t, nil, "token", "decode", "garbage"); code == 0 {
			t.Error("token decode garbage: exit 0, want non-zero")
		}
	})

	t.Run("Help", func(t *testing.T) {
		code, out, errOut := e2eRun(t, nil, "--help")
		if code != 0 || !strings.Contains(out+errOut, "serve") {
			t.Errorf("--help: exit %d, output:\n%s%s", code, out, errOut)
		}
	})
}

func TestE2E_LogsNoSecrets(t *testing.T) {
	// At debug every request is logged (answered ones are debug lines), so
	// every line that could leak is written.
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_LOG_LEVEL": "debug"})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, inst.URL, "sales", secret)
	e2eWantStatus(t, "verify (Bearer)", e2eVerify(t, inst.URL, tok), http.StatusOK)
	e2eWantStatus(t, "verify (?token=)",
		e2eDo(t, http.MethodGet, inst.URL+"/api/v1/verify?token="+url.QueryEscape(tok), "", nil).Status, http.StatusOK)
	e2eWantStatus(t, "invalidate", e2eInvalidate(t, inst.URL, tok).Status, http.StatusNoContent)
	wrong := e2eDo(t, http.MethodPost, inst.URL+"/api/v1/token",
		fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q}`, secret+"x"), nil)
	e2eWantStatus(t, "mint with a wrong secret", wrong.Status, http.StatusUnauthorized)
	inst.Stop(t) // every log line is written once the process has exited

	const wantRequests = 6 // create client, mint, verify ×2, invalidate, wrong mint
	requests := 0
	for i, line := range strings.Split(strings.TrimSpace(inst.Stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line %d is not JSON: %q", i+1, line)
			continue
		}
		if rec["msg"] == "request" {
			requests++
			if id, _ := rec["request_id"].(string); id == "" {
				t.Errorf("request line %d has no request_id: %s", i+1, line)
			}
		}
		for name, s := range map[string]string{"token": tok, "dashboard secret": secret, "admin secret": e2eAdminSecret} {
			if strings.Contains(line, s) {
				t.Errorf("stderr line %d contains the %s: %s", i+1, name, line)
			}
		}
	}
	if requests < wantRequests {
		t.Errorf("%d request lines in stderr, want at least %d:\n%s", requests, wantRequests, inst.Stderr)
	}
}
