package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMint_AnswerShape: the mint answer is encoding/json's (one line, then
// a newline, application/json), and ?pretty still indents it as Echo's
// c.JSON does: the hand-written answer of the usual case changes neither.
func TestMint_AnswerShape(t *testing.T) {
	f := newAPI(t)
	rec := f.postJSON("/api/v1/token", f.mintBody(nil))
	tr := f.tokenOK(rec)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	require.True(t, strings.HasPrefix(body, `{"accessToken":"`+tr.AccessToken+`","tokenType":"Bearer","expiresIn":`), body)
	require.True(t, strings.HasSuffix(body, "Z\"}\n"), body)
	require.Equal(t, 1, strings.Count(body, "\n"))

	rec = f.postJSON("/api/v1/token?pretty", f.mintBody(nil))
	tr = f.tokenOK(rec)
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.HasPrefix(rec.Body.String(), "{\n  \"accessToken\": \""+tr.AccessToken+"\",\n"), rec.Body.String())
}
