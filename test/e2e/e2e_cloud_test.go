package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/pkg/client"
	"github.com/sigil-dev/sigil/test/redisserver"
	"github.com/sigil-dev/sigil/test/testproc"
)

// e2eViewTemplate is the cloud's viewer URL template.
const e2eViewTemplate = "https://viewer.example.com/reports/{reportId}?token={token}"

// TestE2E_CloudPublishing is issue #7's acceptance: two sigil binaries, the
// local one publishing to the cloud one, each on its own Redis.
func TestE2E_CloudPublishing(t *testing.T) {
	ctx := context.Background()
	cloudRedis, localRedis := redisserver.Start(t), redisserver.Start(t)

	// The cloud: a fixed port (the local deployment's cloud.url must
	// survive its restart), revealing tokens, with the viewer configured.
	revealKey := filepath.Join(t.TempDir(), "reveal.key")
	writeFile(t, revealKey, randomHex(t, 32))
	cloudEnv := e2eRedisEnv(cloudRedis.URL(), t.TempDir(), map[string]string{
		"SIGIL_ADDR":                     fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)),
		"SIGIL_REGISTRY_REVEAL_TOKENS":   "true",
		"SIGIL_REGISTRY_REVEAL_KEY_FILE": revealKey,
		"SIGIL_VIEW_URL_TEMPLATE":        e2eViewTemplate,
	})
	cloud := e2eStart(t, cloudEnv)
	cloudAdmin := mustClient(t, cloud.URL, "admin", e2eAdminSecret)
	acme, err := cloudAdmin.CreateClient(ctx, client.NewClient{ID: "acme", Name: "Acme's local sigil", Resources: []string{"report:*"}})
	if err != nil {
		t.Fatal(err)
	}

	// The local deployment: its cloud secret from a file.
	secretFile := filepath.Join(t.TempDir(), "cloud-secret")
	writeFile(t, secretFile, acme.Secret+"\n")
	local := e2eStart(t, e2eRedisEnv(localRedis.URL(), t.TempDir(), map[string]string{
		"SIGIL_CLOUD_URL":                cloud.URL,
		"SIGIL_CLOUD_CLIENT_ID":          "acme",
		"SIGIL_CLOUD_CLIENT_SECRET_FILE": secretFile,
		"SIGIL_CLOUD_TIMEOUT":            "1s",
	}))
	// The banner is written line by line after the listening line: wait for it.
	local.WaitStdout(t, regexp.MustCompile(regexp.QuoteMeta("cloud:  "+cloud.URL+" (client acme)")))
	localAdmin := mustClient(t, local.URL, "admin", e2eAdminSecret)
	inf, err := localAdmin.CreateClient(ctx, client.NewClient{ID: "informer", Resources: []string{"report:q3"}})
	if err != nil {
		t.Fatal(err)
	}
	informer := mustClient(t, local.URL, "informer", inf.Secret)
	localTok, err := informer.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3", Name: "internal"})
	if err != nil {
		t.Fatal(err)
	}

	// 1. Publish: a report token minted on the cloud, with its public URL.
	pub, err := informer.PublishReport(ctx, "q3", false)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if !pub.Cloud || pub.Type != "report" || pub.ReportID != "q3" || !strings.HasPrefix(pub.URL, cloud.URL+"/view/") {
		t.Fatalf("publish answered %+v", pub)
	}
	jwt := strings.TrimPrefix(pub.URL, cloud.URL+"/view/")
	again, err := informer.PublishReport(ctx, "q3", false)
	if err != nil || again.ID != pub.ID || again.URL != pub.URL {
		t.Fatalf("publishing twice: %+v, %v; want the existing token %s", again, err, pub.ID)
	}

	// 2. The URL opens on the cloud: 302 to the viewer template.
	r := getNoRedirect(t, pub.URL)
	e2eWantStatus(t, "GET public url", r.Status, http.StatusFound)
	if want := "https://viewer.example.com/reports/q3?token=" + jwt; r.Header.Get("Location") != want {
		t.Fatalf("redirected to %q, want %q", r.Header.Get("Location"), want)
	}

	// 3. The local listing shows the local and the cloud token.
	list, err := informer.ReportTokens(ctx, "q3")
	if err != nil {
		t.Fatal(err)
	}
	if list.Warning != nil || len(list.Tokens) != 2 || list.Tokens[0].ID != localTok.ID || list.Tokens[0].Cloud ||
		list.Tokens[1].ID != pub.ID || !list.Tokens[1].Cloud || list.Tokens[1].URL != pub.URL {
		t.Fatalf("merged listing: %+v", list)
	}

	// 3b. A second tenant of the cloud, set up the same way (report:*), can
	// neither see nor touch acme's published token (issue 12, C15): 404 on
	// every route, absent from its listings, and the link still works.
	globex, err := cloudAdmin.CreateClient(ctx, client.NewClient{ID: "globex", Name: "Globex's local sigil", Resources: []string{"report:*"}})
	if err != nil {
		t.Fatal(err)
	}
	rival := mustClient(t, cloud.URL, "globex", globex.Secret)
	wantNotFound := func(what string, err error) {
		t.Helper()
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Errorf("another tenant's %s of the published token: %v, want 404", what, err)
		}
	}
	_, err = rival.GetToken(ctx, pub.ID)
	wantNotFound("GET", err)
	renamed := "pwned"
	_, err = rival.UpdateToken(ctx, pub.ID, client.UpdateTokenRequest{Name: &renamed})
	wantNotFound("PATCH", err)
	_, err = rival.GenerateToken(ctx, pub.ID)
	wantNotFound("_generate", err)
	_, err = rival.TokenLogs(ctx, pub.ID, 10, "")
	wantNotFound("logs", err)
	wantNotFound("DELETE", rival.DeleteToken(ctx, pub.ID))
	if list, err := rival.ReportTokens(ctx, "q3"); err != nil || len(list.Tokens) != 0 {
		t.Errorf("another tenant's listing of report q3: %+v, %v; want no tokens", list, err)
	}
	if page, err := rival.ListTokens(ctx, client.TokenFilter{ReportID: "q3"}); err != nil || len(page.Tokens) != 0 {
		t.Errorf("another tenant's token listing for q3: %+v, %v; want none", page, err)
	}
	e2eWantStatus(t, "GET public url after the other tenant's attempts", getNoRedirect(t, pub.URL).Status, http.StatusFound)

	// 4. Cloud stopped: still 200, the local token and a warning.
	cloud.Stop(t)
	start := time.Now()
	list, err = informer.ReportTokens(ctx, "q3")
	t.Logf("listing with the cloud stopped answered in %s (cloud.timeout 1s)", time.Since(start))
	if err != nil {
		t.Fatalf("listing with the cloud down: %v", err)
	}
	if list.Warning == nil || list.Warning.Code != "cloud_unavailable" || len(list.Tokens) != 1 || list.Tokens[0].ID != localTok.ID {
		t.Fatalf("listing with the cloud down: %+v", list)
	}

	// 5. Cloud back; revoke through local; the URL answers the expired page.
	e2eStart(t, cloudEnv) // on its fixed port again, where local reaches it
	if err := informer.DeleteToken(ctx, pub.ID); err != nil {
		t.Fatalf("revoke the cloud token through local: %v", err)
	}
	r = getNoRedirect(t, pub.URL)
	e2eWantStatus(t, "GET public url after revocation", r.Status, http.StatusUnauthorized)
	if !strings.Contains(strings.ToLower(r.Body), "expired") || strings.Contains(r.Body, jwt) {
		t.Fatalf("expired-link page: %q", r.Body)
	}
	list, err = informer.ReportTokens(ctx, "q3")
	if err != nil || list.Warning != nil || len(list.Tokens) != 1 {
		t.Fatalf("listing after revocation: %+v, %v", list, err)
	}

	// Nothing secret was recorded or logged locally: not the JWT, not the
	// cloud secret.
	for where, text := range map[string]string{
		"local redis":  redisText(t, localRedis.URL()),
		"local stderr": local.Stderr.String(), "local stdout": local.Stdout.String(),
	} {
		for name, secret := range map[string]string{"cloud JWT": jwt, "cloud JWT signature": jwt[strings.LastIndex(jwt, ".")+1:], "cloud client secret": acme.Secret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the %s", where, name)
			}
		}
	}
}

// getNoRedirect is a GET that reports a redirect instead of following it.
func getNoRedirect(t *testing.T, url string) e2eResponse {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: e2eClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET public url: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return e2eResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func mustClient(t *testing.T, base, id, secret string) *client.Client {
	t.Helper()
	// The Go client's exchanges are validated against the OpenAPI document too.
	c, err := client.New(base, client.WithCredentials(id, secret), client.WithHTTPClient(e2eClient))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// redisText is every key and value of a Redis, as text.
func redisText(t *testing.T, url string) string {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	var sb strings.Builder
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		sb.WriteString(k + "\n")
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRange(ctx, k, 0, -1).Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		default:
			v, err = rdb.Dump(ctx, k).Result()
		}
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		fmt.Fprintf(&sb, "%v\n", v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
