package e2e_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

const e2eIssuer = "https://sigil.e2e.test"

// e2eJWKS fetches and parses the instance's JWKS with go-jose.
func e2eJWKS(t testing.TB, base string) jose.JSONWebKeySet {
	t.Helper()
	r := e2eDo(t, http.MethodGet, base+"/.well-known/jwks.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: status %d: %s", r.Status, r.Body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.Body), &set); err != nil {
		t.Fatalf("go-jose cannot parse the JWKS: %v\n%s", err, r.Body)
	}
	return set
}

func TestE2E_JWKSInterop(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			keysDir := t.TempDir()
			if alg != "EdDSA" { // EdDSA is the dev key sigil generates into the empty dir
				e2eGenerateKey(t, alg, keysDir)
			}
			inst := e2eStart(t, map[string]string{
				"SIGIL_KEYS_DIR": keysDir, "SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_ISSUER": e2eIssuer,
			})
			secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
			raw := e2eMint(t, inst.URL, "sales", secret)
			set := e2eJWKS(t, inst.URL)

			tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
			if err != nil {
				t.Fatalf("go-jose ParseSigned: %v", err)
			}
			if len(tok.Headers) != 1 || tok.Headers[0].Algorithm != alg {
				t.Fatalf("token headers %+v, want one with alg %s", tok.Headers, alg)
			}
			kid := tok.Headers[0].KeyID
			found := set.Key(kid)
			if len(found) != 1 {
				t.Fatalf("JWKS holds %d keys with kid %q, want 1", len(found), kid)
			}
			key := found[0]
			var out struct {
				josejwt.Claims
				DashboardID string `json:"dashboardId"`
			}
			if err := tok.Claims(key.Key, &out); err != nil {
				t.Fatalf("go-jose Claims with the JWKS key: %v", err)
			}
			if err := out.ValidateWithLeeway(josejwt.Expected{Issuer: e2eIssuer, AnyAudience: josejwt.Audience{"sigil"}}, 30*time.Second); err != nil {
				t.Errorf("go-jose claim validation: %v", err)
			}
			if out.Issuer != e2eIssuer || !out.Audience.Contains("sigil") || out.DashboardID != "sales" {
				t.Errorf("claims iss=%q aud=%v dashboardId=%q; want %q, [sigil], sales", out.Issuer, out.Audience, out.DashboardID, e2eIssuer)
			}
			tp, err := key.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatalf("go-jose Thumbprint: %v", err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); kid != want {
				t.Errorf("kid %q is not the RFC 7638 thumbprint %q", kid, want)
			}
		})
	}
}

func TestE2E_KeyRotationSIGHUP(t *testing.T) {
	keysDir := t.TempDir()
	pathA, kidA := e2eGenerateKey(t, "EdDSA", keysDir)
	inst := e2eStart(t, map[string]string{"SIGIL_KEYS_DIR": keysDir, "SIGIL_ADMIN_SECRET": e2eAdminSecret})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tokA := e2eMint(t, inst.URL, "sales", secret)
	if got := e2eJWTHeader(t, tokA)["kid"]; got != kidA {
		t.Fatalf("token A has kid %v, want %s", got, kidA)
	}
	e2eWantStatus(t, "verify A", e2eVerify(t, inst.URL, tokA), http.StatusOK)

	time.Sleep(10 * time.Millisecond) // the newest file signs: keep the mtimes apart
	_, kidB := e2eGenerateKey(t, "EdDSA", keysDir)
	e2eHUP(t, inst)
	e2eEventually(t, 5*time.Second, "JWKS with 2 keys after SIGHUP", func() bool {
		return len(e2eJWKS(t, inst.URL).Keys) == 2
	})
	tokB := e2eMint(t, inst.URL, "sales", secret)
	if got := e2eJWTHeader(t, tokB)["kid"]; got != kidB || got == kidA {
		t.Fatalf("token B has kid %v, want the new key %s (A's is %s)", got, kidB, kidA)
	}
	e2eWantStatus(t, "verify A after rotation", e2eVerify(t, inst.URL, tokA), http.StatusOK)
	e2eWantStatus(t, "verify B", e2eVerify(t, inst.URL, tokB), http.StatusOK)

	if err := os.Remove(pathA); err != nil {
		t.Fatal(err)
	}
	e2eHUP(t, inst)
	e2eEventually(t, 5*time.Second, "A rejected after its key file is removed", func() bool {
		return e2eVerify(t, inst.URL, tokA) == http.StatusUnauthorized
	})
	e2eWantStatus(t, "verify B after A's key is gone", e2eVerify(t, inst.URL, tokB), http.StatusOK)

	if err := os.WriteFile(filepath.Join(keysDir, "bad.pem"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e2eHUP(t, inst)
	e2eEventually(t, 5*time.Second, "stderr to report the failed reload", func() bool {
		return strings.Contains(inst.Stderr.String(), "key reload failed")
	})
	e2eWantStatus(t, "verify B after a failed reload", e2eVerify(t, inst.URL, tokB), http.StatusOK)
	if n := len(e2eJWKS(t, inst.URL).Keys); n != 1 {
		t.Errorf("JWKS holds %d keys after a failed reload, want the 1 current key", n)
	}
}

func e2eHUP(t testing.TB, inst *e2eInstance) {
	t.Helper()
	if err := inst.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
}

// TestE2E_ExposedKeyFile: a private key file other users can read (mode
// 0644, as a careless copy leaves it) is refused by `sigil serve` in prod
// mode, naming the file, and loads with a warning in dev mode.
func TestE2E_ExposedKeyFile(t *testing.T) {
	keysDir := t.TempDir()
	path, _ := e2eGenerateKey(t, "EdDSA", keysDir)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrProd", func(t *testing.T) {
		code, _, stderr := e2eRun(t, map[string]string{
			"SIGIL_MODE": "prod", "SIGIL_KEYS_DIR": keysDir, "SIGIL_ADDR": "127.0.0.1:0", "SIGIL_ADMIN_SECRET": e2eAdminSecret,
		}, "serve")
		if code == 0 {
			t.Fatalf("sigil serve in prod started with a 0644 key; stderr:\n%s", stderr)
		}
		if !strings.Contains(stderr, path) || !strings.Contains(stderr, "0644") {
			t.Fatalf("the error does not name the file and its mode; stderr:\n%s", stderr)
		}
	})
	t.Run("OKDevWarns", func(t *testing.T) {
		inst := e2eStart(t, map[string]string{"SIGIL_KEYS_DIR": keysDir, "SIGIL_ADMIN_SECRET": e2eAdminSecret})
		if !strings.Contains(inst.Stderr.String(), "private key file readable by other users") {
			t.Fatalf("no warning about the 0644 key; stderr:\n%s", inst.Stderr)
		}
	})
	t.Run("OKProd0600", func(t *testing.T) {
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		inst := e2eStart(t, map[string]string{"SIGIL_MODE": "prod", "SIGIL_KEYS_DIR": keysDir, "SIGIL_ADMIN_SECRET": e2eAdminSecret})
		if strings.Contains(inst.Stderr.String(), "readable by other users") {
			t.Fatalf("warned about a 0600 key; stderr:\n%s", inst.Stderr)
		}
	})
}
