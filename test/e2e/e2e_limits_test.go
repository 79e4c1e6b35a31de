package e2e_test

import (
	"net/http"
	"testing"
)

// TestE2E_AuthLimitTrustedProxies: the built binary reads the client
// address from X-Forwarded-For only behind http.trusted_proxies (issue 12
// B10). The test client connects from 127.0.0.1.
func TestE2E_AuthLimitTrustedProxies(t *testing.T) {
	const maxFailures = 3
	get := func(base, xff, secret string) int {
		t.Helper()
		hdr := e2eBasic("admin", secret)
		hdr["X-Forwarded-For"] = xff
		return e2eDo(t, http.MethodGet, base+"/api/clients", "", hdr).Status
	}
	flood := func(base, xffPrefix string) {
		t.Helper()
		for i := range maxFailures {
			e2eWantStatus(t, "wrong secret", get(base, xffPrefix+string(rune('1'+i)), "wrong-secret-guess"), http.StatusUnauthorized)
		}
	}
	t.Run("BehindTrustedProxy", func(t *testing.T) {
		inst := e2eStart(t, map[string]string{
			"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_AUTH_MAX_FAILURES": "3",
			"SIGIL_HTTP_TRUSTED_PROXIES": "127.0.0.0/8",
		})
		// One client behind the proxy guesses (the proxy appends its address).
		for range maxFailures {
			e2eWantStatus(t, "wrong secret", get(inst.URL, "203.0.113.9", "wrong-secret-guess"), http.StatusUnauthorized)
		}
		e2eWantStatus(t, "the guesser, right secret", get(inst.URL, "203.0.113.9", e2eAdminSecret), http.StatusTooManyRequests)
		// Another client behind the same proxy is a different address.
		e2eWantStatus(t, "another client", get(inst.URL, "203.0.113.10", e2eAdminSecret), http.StatusOK)
	})
	t.Run("UntrustedPeerSpoofsHeader", func(t *testing.T) {
		inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_AUTH_MAX_FAILURES": "3"})
		// A fresh made-up X-Forwarded-For on every guess buys nothing:
		// without trusted proxies the peer's address counts.
		flood(inst.URL, "198.51.100.")
		e2eWantStatus(t, "spoofed new address, right secret", get(inst.URL, "198.51.100.99", e2eAdminSecret), http.StatusTooManyRequests)
	})
}
