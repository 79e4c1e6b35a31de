package e2e_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// e2eCLIEnv is the environment of CLI runs against inst as admin.
func e2eCLIEnv(inst *e2eInstance, extra map[string]string) map[string]string {
	env := map[string]string{"SIGIL_SERVER": inst.URL, "SIGIL_ADMIN_SECRET": e2eAdminSecret}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// e2eMustRun runs the CLI and fails unless it exits 0.
func e2eMustRun(t *testing.T, env map[string]string, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errOut := e2eRun(t, env, args...)
	if code != 0 {
		t.Fatalf("sigil %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

var (
	e2eSecretLineRE = regexp.MustCompile(`(?m)^secret (\S+)$`)
	e2eRecordRE     = regexp.MustCompile(`record (\S+) `)
	e2eJWTLineRE    = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$`)
)

func TestE2E_CLIAgainstServer(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_ISSUER": e2eIssuer})
	admin := e2eCLIEnv(inst, nil)
	var outputs []string
	run := func(env map[string]string, args ...string) (string, string) {
		t.Helper()
		out, errOut := e2eMustRun(t, env, args...)
		outputs = append(outputs, out, errOut)
		return out, errOut
	}

	out, _ := run(admin, "clients", "create", "--id", "sales", "--name", "Sales", "--resource", "dashboard:sales")
	m := e2eSecretLineRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("clients create printed no secret:\n%s", out)
	}
	dashSecret := m[1]
	out, _ = run(admin, "clients", "create", "--id", "informer", "--resource", "report:q3")
	infSecret := e2eSecretLineRE.FindStringSubmatch(out)[1]
	out, _ = run(admin, "clients", "list")
	for _, want := range []string{"sales", "informer", "dashboard:sales", "report:q3"} {
		if !strings.Contains(out, want) {
			t.Errorf("clients list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, dashSecret) || strings.Contains(out, infSecret) {
		t.Error("clients list shows a secret")
	}

	// Embed token through the server, verified offline with the JWKS.
	embed, errOut := run(e2eCLIEnv(inst, map[string]string{"SIGIL_DASHBOARD_SECRET": dashSecret}),
		"token", "mint", "--dashboard", "sales", "--expiry", "15m", "--param", "locale=de-DE", "--param", "amount=12.5", "--sub", "ana")
	if !e2eJWTLineRE.MatchString(embed) {
		t.Fatalf("token mint stdout is not one JWT line: %q (stderr %s)", embed, errOut)
	}
	embed = strings.TrimSpace(embed)
	e2eWantStatus(t, "verify the CLI-minted embed token", e2eVerify(t, inst.URL, embed), http.StatusOK)
	jwks := inst.URL + "/.well-known/jwks.json"
	out, errOut = run(nil, "token", "verify", embed, "--jwks", jwks, "--issuer", e2eIssuer)
	for _, want := range []string{`"dashboardId": "sales"`, `"locale": "de-DE"`, `"amount": 12.5`, `"sub": "ana"`} {
		if !strings.Contains(out, want) {
			t.Errorf("token verify output lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "VALID") {
		t.Errorf("token verify stderr: %s", errOut)
	}
	h, p, _ := strings.Cut(embed, ".")
	p, _, _ = strings.Cut(p, ".")
	forged := h + "." + p + ".AAAA" + strings.Repeat("A", 82)
	for name, args := range map[string][]string{
		"ErrForged":      {"token", "verify", forged, "--jwks", jwks, "--issuer", e2eIssuer},
		"ErrWrongIssuer": {"token", "verify", embed, "--jwks", jwks},
	} {
		code, _, errOut := e2eRun(t, nil, args...)
		if code == 0 || !strings.Contains(errOut, "token rejected") {
			t.Errorf("%s: exit %d, stderr %s", name, code, errOut)
		}
	}

	// Registered report token with client credentials.
	inf := e2eCLIEnv(inst, map[string]string{"SIGIL_CLIENT_ID": "informer", "SIGIL_CLIENT_SECRET": infSecret})
	report, errOut := run(inf, "token", "mint", "--type", "report", "--report", "q3", "--expires-in", "30d")
	report = strings.TrimSpace(report)
	rm := e2eRecordRE.FindStringSubmatch(errOut)
	if rm == nil {
		t.Fatalf("token mint --type report names no record: %s", errOut)
	}
	e2eWantStatus(t, "verify the CLI-minted report token", e2eVerify(t, inst.URL, report), http.StatusOK)
	code, _, errOut := e2eRun(t, inf, "token", "mint", "--type", "report", "--report", "q4")
	if code == 0 || !strings.Contains(errOut, "403 forbidden") || !strings.Contains(errOut, "reportId") {
		t.Errorf("minting for a foreign report: exit %d, stderr %s", code, errOut)
	}

	// Bulk revocation from a file: a JWT, a record id, a bad id.
	list := filepath.Join(t.TempDir(), "revoke.txt")
	content := "# leaked on 2026-11-25\n\n" + embed + "\n" + rm[1] + "\nno-such-token\n"
	if err := os.WriteFile(list, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = e2eRun(t, admin, "token", "revoke", "--client-id", "admin", "--from-file", list)
	outputs = append(outputs, out, errOut)
	if code != 1 {
		t.Errorf("token revoke with a bad line: exit %d, want 1", code)
	}
	for _, want := range []string{"revoking 3 entries", "line 5 (id \"no-such-token\")", "not_found", "progress: 3/3 (100%), 1 failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("token revoke stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "revoked 2 of 3") {
		t.Errorf("token revoke stdout: %s", out)
	}
	e2eWantStatus(t, "verify the revoked embed token", e2eVerify(t, inst.URL, embed), http.StatusUnauthorized)
	e2eWantStatus(t, "verify the revoked report token", e2eVerify(t, inst.URL, report), http.StatusUnauthorized)

	run(admin, "clients", "delete", "sales")
	code, _, errOut = e2eRun(t, admin, "clients", "delete", "sales")
	if code == 0 || !strings.Contains(errOut, "not_found") {
		t.Errorf("deleting a deleted client: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = e2eRun(t, map[string]string{"SIGIL_SERVER": inst.URL}, "clients", "list")
	if code == 0 || !strings.Contains(errOut, "SIGIL_CLIENT_SECRET") {
		t.Errorf("clients list without a secret: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = e2eRun(t, e2eCLIEnv(inst, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret + "x"}), "clients", "list")
	if code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("clients list with a wrong secret: exit %d, stderr %s", code, errOut)
	}
	outputs = append(outputs, errOut)

	for _, o := range outputs {
		if strings.Contains(o, e2eAdminSecret) {
			t.Errorf("CLI output echoes the admin secret:\n%s", o)
		}
	}
	if strings.Contains(errOut, report) {
		t.Error("revoke output shows a JWT")
	}
}

func TestE2E_CLIOfflineMint(t *testing.T) {
	keysDir := t.TempDir()
	e2eGenerateKey(t, "ES256", keysDir)
	tok, errOut := e2eMustRun(t, nil, "token", "mint", "--offline", "--keys-dir", keysDir, "--issuer", e2eIssuer,
		"--dashboard", "sales", "--expiry", "1h", "--param", "currency=EUR")
	if !e2eJWTLineRE.MatchString(tok) || !strings.Contains(errOut, "no server knows it") {
		t.Fatalf("offline mint: stdout %q stderr %s", tok, errOut)
	}
	tok = strings.TrimSpace(tok)
	inst := e2eStart(t, map[string]string{"SIGIL_KEYS_DIR": keysDir, "SIGIL_ISSUER": e2eIssuer})
	e2eWantStatus(t, "server verifies the offline token", e2eVerify(t, inst.URL, tok), http.StatusOK)
	// A registered kind minted offline has no record on the server: 401
	// (issue 12, A4), on verify and on /view alike.
	for _, args := range [][]string{{"--type", "report", "--report", "q3"}, {"--type", "app-view", "--app", "analytics"}} {
		reg, _ := e2eMustRun(t, nil, append([]string{"token", "mint", "--offline", "--keys-dir", keysDir, "--issuer", e2eIssuer, "--expiry", "1h"}, args...)...)
		e2eWantStatus(t, "server verifies an offline "+args[1]+" token", e2eVerify(t, inst.URL, strings.TrimSpace(reg)), http.StatusUnauthorized)
	}
	out, _ := e2eMustRun(t, nil, "token", "verify", tok, "--jwks", inst.URL+"/.well-known/jwks.json", "--issuer", e2eIssuer)
	if !strings.Contains(out, `"currency": "EUR"`) {
		t.Errorf("token verify of the offline token:\n%s", out)
	}
	for name, args := range map[string][]string{
		"ErrEmbedWithoutExpiry": {"token", "mint", "--offline", "--keys-dir", keysDir, "--dashboard", "sales"},
		"ErrNoKeys":             {"token", "mint", "--offline", "--keys-dir", t.TempDir(), "--dashboard", "sales", "--expiry", "1h"},
		"ErrBadParam":           {"token", "mint", "--offline", "--keys-dir", keysDir, "--dashboard", "sales", "--expiry", "1h", "--param", "novalue"},
		"ErrBadLocale":          {"token", "mint", "--offline", "--keys-dir", keysDir, "--dashboard", "sales", "--expiry", "1h", "--param", "locale=xx-!!"},
		"ErrReportWithoutID":    {"token", "mint", "--offline", "--keys-dir", keysDir, "--type", "report"},
	} {
		if code, out, _ := e2eRun(t, nil, args...); code == 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want a failure and no token", name, code, out)
		}
	}
}

func TestE2E_CLIKeysRotate(t *testing.T) {
	keysDir := t.TempDir()
	_, kidA := e2eGenerateKey(t, "EdDSA", keysDir)
	inst := e2eStart(t, map[string]string{"SIGIL_KEYS_DIR": keysDir, "SIGIL_ADMIN_SECRET": e2eAdminSecret})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tokA := e2eMint(t, inst.URL, "sales", secret)

	// No pause after generate: rotate itself makes the new file the newest.
	out, errOut := e2eMustRun(t, nil, "keys", "rotate", "--dir", keysDir, "--active", kidA)
	kidB := regexp.MustCompile(`(?m)^kid (\S+)$`).FindStringSubmatch(out)
	if kidB == nil || kidB[1] == kidA || !strings.Contains(out, "previous "+kidA+" (kept for verification)") {
		t.Fatalf("keys rotate:\n%s", out)
	}
	if !strings.Contains(errOut, "pins "+kidA) {
		t.Errorf("keys rotate does not warn that --active pins the old key:\n%s", errOut)
	}
	out, _ = e2eMustRun(t, nil, "keys", "list", "--dir", keysDir)
	if !regexp.MustCompile(`(?m)^\*\s+`+regexp.QuoteMeta(kidB[1])).MatchString(out) || !strings.Contains(out, kidA) {
		t.Fatalf("keys list after rotate:\n%s", out)
	}

	e2eHUP(t, inst)
	e2eEventually(t, 5*time.Second, "JWKS with both keys after SIGHUP", func() bool {
		return len(e2eJWKS(t, inst.URL).Keys) == 2
	})
	tokB := e2eMint(t, inst.URL, "sales", secret)
	if got := e2eJWTHeader(t, tokB)["kid"]; got != kidB[1] {
		t.Fatalf("token minted after rotation has kid %v, want %s", got, kidB[1])
	}
	e2eWantStatus(t, "verify the token of the old key", e2eVerify(t, inst.URL, tokA), http.StatusOK)
	e2eWantStatus(t, "verify the token of the new key", e2eVerify(t, inst.URL, tokB), http.StatusOK)
}

// Every command, found by walking --help, has an example.
func TestE2E_CLIHelpExamples(t *testing.T) {
	cmdRE := regexp.MustCompile(`(?m)^  ([a-z][a-z-]*)\s{2,}\S`)
	queue := [][]string{{}}
	seen := 0
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		out, _ := e2eMustRun(t, nil, append(append([]string{}, path...), "--help")...)
		seen++
		if !strings.Contains(out, "Examples:") {
			t.Errorf("sigil %s --help has no example:\n%s", strings.Join(path, " "), out)
		}
		_, sub, ok := strings.Cut(out, "Available Commands:")
		if !ok {
			continue
		}
		sub, _, _ = strings.Cut(sub, "\n\n")
		for _, m := range cmdRE.FindAllStringSubmatch(sub, -1) {
			queue = append(queue, append(append([]string{}, path...), m[1]))
		}
	}
	if seen < 20 {
		t.Errorf("walked %d commands, want every one (at least 20)", seen)
	}
	out, _ := e2eMustRun(t, nil, "completion", "bash")
	if !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash printed no script")
	}
}

func TestE2E_ServeBanner(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_ISSUER": e2eIssuer})
	// The banner is written line by line after the listening line: wait for its last one.
	inst.WaitStdout(t, regexp.MustCompile(regexp.QuoteMeta(inst.URL+"/api/v1/token")))
	out := inst.Stdout.String()
	for _, want := range []string{
		"sigil listening on " + inst.URL, "store:  memory", "issuer: " + e2eIssuer, "kid=",
		`curl -s -u "admin:$SIGIL_ADMIN_SECRET"`, inst.URL + "/api/clients", inst.URL + "/api/v1/token",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, e2eAdminSecret) {
		t.Errorf("banner echoes the configured admin secret:\n%s", out)
	}
}
