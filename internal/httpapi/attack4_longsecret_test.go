package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// TestAttack4_LongAdminSecretChunks: the pooled HMAC writes a secret into
// the hash through a 128-byte buffer, chunk by chunk. The configured admin
// secret has no upper bound, so it crosses that buffer: at 127, 128, 129,
// 256 and 300 bytes, and with a two-byte character straddling the chunk
// boundary, the right secret authenticates the admin (at introspection
// and at a requireClient route), and a secret differing in one byte of
// either chunk, one byte shorter, one longer, or only the first chunk is
// refused.
func TestAttack4_LongAdminSecretChunks(t *testing.T) {
	for name, secret := range map[string]string{
		"127":        strings.Repeat("a", 126) + "Z",
		"128":        strings.Repeat("b", 127) + "Z",
		"129":        strings.Repeat("c", 128) + "Z",
		"256":        strings.Repeat("d", 255) + "Z",
		"300":        strings.Repeat("e", 150) + strings.Repeat("f", 149) + "Z",
		"straddling": strings.Repeat("g", 127) + "é" + strings.Repeat("h", 40),
	} {
		t.Run(name, func(t *testing.T) {
			srv := apiserver.Start(t, noAuthLimit(), apiserver.WithConfig(func(c *config.Config) { c.AdminSecret = secret }))
			e := &consoleEnv{t: t, srv: srv}
			ok := func(s string) bool {
				status, _, err := rawIntrospect(srv.URL, basicHeader("admin", s), "x.y.z")
				require.NoError(t, err)
				require.Contains(t, []int{http.StatusOK, http.StatusUnauthorized}, status)
				list := e.basic("admin", s, http.MethodGet, "/api/clients", "")
				require.Equal(t, status, list.status, "introspection and requireClient agree for %q", s)
				return status == http.StatusOK
			}
			require.True(t, ok(secret), "the right secret")
			flip := func(i int) string { b := []byte(secret); b[i] ^= 0x01; return string(b) }
			wrong := []string{
				flip(0), flip(len(secret) - 1), secret[:len(secret)-1], secret + "Z", secret + secret,
				strings.ToUpper(secret),
			}
			if len(secret) > 128 {
				wrong = append(wrong, secret[:128], flip(128), flip(127), secret[:129])
			}
			for _, w := range wrong {
				if w == secret {
					continue
				}
				require.False(t, ok(w), "a near miss of %d bytes", len(w))
			}
			require.True(t, ok(secret), "the right secret after the near misses")
		})
	}
}
