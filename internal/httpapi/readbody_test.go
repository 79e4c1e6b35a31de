package httpapi_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
)

// TestReadBody_AnnouncedLength sends introspection bodies over a real
// connection with every relation of Content-Length to what arrives: the
// body is read to its end whatever its announced size (small bodies get one
// buffer of that size, others grow), a body shorter than announced is the
// client's 400, and one over the limit a 413 — never a 5xx, never a token
// read from a cut body.
func TestReadBody_AnnouncedLength(t *testing.T) {
	f := newAPI(t)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	tok := f.mint(nil).AccessToken
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(clients.AdminID+":"+f.adminSecret))

	// send writes one request with the given Content-Length and body,
	// half-closes when cut, and returns the status and body of the answer.
	send := func(t *testing.T, length int, body string, cut bool) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = fmt.Fprintf(conn, "POST /api/v1/introspect HTTP/1.1\r\nHost: sigil\r\nAuthorization: %s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			auth, length, body)
		require.NoError(t, err)
		if cut {
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}

	form := "token=" + tok
	padded := form + "&pad=" + strings.Repeat("x", 5000) // past the up-front buffer: grows as before
	for _, tc := range []struct {
		name   string
		length int
		body   string
		cut    bool
		status int
		active bool
	}{
		{"ExactLength", len(form), form, false, http.StatusOK, true},
		{"ExactLengthPastTheUpFrontBuffer", len(padded), padded, false, http.StatusOK, true},
		{"ErrShorterThanAnnounced", len(form) + 10, form, true, http.StatusBadRequest, false},
		{"ErrShorterThanAnnouncedLarge", 60_000, form, true, http.StatusBadRequest, false},
		{"ErrCutInsideTheToken", len(form), form[:len(form)-5], true, http.StatusBadRequest, false},
		{"ErrOverTheLimit", 70_000, form, true, http.StatusRequestEntityTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := send(t, tc.length, tc.body, tc.cut)
			require.Equal(t, tc.status, status, body)
			if tc.status == http.StatusOK {
				require.Contains(t, body, `"active":true`)
				return
			}
			require.Contains(t, body, `"error"`)
			require.NotContains(t, body, tok)
		})
	}
}
