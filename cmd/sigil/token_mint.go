package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/pkg/client"
)

// mintFlags are the flags of `sigil token mint`.
type mintFlags struct {
	server              serverFlags
	kind                string
	dashboard, dashFile string
	report, app, sub    string
	name, expiresIn     string
	scopes, params      []string
	expiry              time.Duration
	offline             bool
	keysDir, active     string
	issuer, audience    string
}

func newTokenMintCmd() *cobra.Command {
	var f mintFlags
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Mint a token through a server, or offline with local keys",
		Long: "Mint a token and print it, alone, on stdout.\n\n" +
			"Through a server: an embed token is bought with a dashboard credential (secret from\n" +
			"--dashboard-secret-file or SIGIL_DASHBOARD_SECRET); report, app-view and api tokens are\n" +
			"registered with client credentials (SIGIL_CLIENT_ID and SIGIL_CLIENT_SECRET or --secret-file).\n\n" +
			"--offline signs with the active key of --keys-dir, for development and tests: such a token\n" +
			"has no record on any server, and only verifiers with the same keys, issuer and audience accept it.",
		Example: "  SIGIL_DASHBOARD_SECRET=… sigil token mint --dashboard sales --expiry 15m --param locale=de-DE --param currency=EUR\n" +
			"  SIGIL_CLIENT_ID=informer SIGIL_CLIENT_SECRET=… sigil token mint --type report --report q3 --expires-in 30d\n" +
			"  sigil token mint --offline --keys-dir keys --issuer http://127.0.0.1:8080 --dashboard sales --expiry 1h",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params, err := parseParams(f.params)
			if err != nil {
				return err
			}
			if f.offline {
				return mintOffline(cmd, f, params)
			}
			return mintOnline(cmd, f, params)
		},
	}
	f.server.register(cmd, "")
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "type", token.KindEmbed, "token kind: embed, report, app-view or api")
	fl.StringVar(&f.dashboard, "dashboard", "", "dashboard id (embed)")
	fl.StringVar(&f.dashFile, "dashboard-secret-file", "", "file holding the dashboard secret (default: env SIGIL_DASHBOARD_SECRET)")
	fl.StringVar(&f.report, "report", "", "report id (report)")
	fl.StringVar(&f.app, "app", "", "app id (app-view)")
	fl.StringVar(&f.sub, "sub", "", "subject: the signed-in user (embed), the owner (api)")
	fl.StringVar(&f.name, "name", "", "record name (registered kinds, through a server)")
	fl.StringArrayVar(&f.scopes, "scope", nil, "scope (api; repeatable)")
	fl.StringArrayVar(&f.params, "param", nil, "embed param key=value; numbers and true/false are typed (repeatable)")
	fl.DurationVar(&f.expiry, "expiry", 0, "lifetime, e.g. 15m (embed: server default when 0; registered: never expires when 0)")
	fl.StringVar(&f.expiresIn, "expires-in", "", "registered kinds through a server: preset 1d 7d 30d 60d 90d 1y never")
	fl.BoolVar(&f.offline, "offline", false, "sign locally with the keys in --keys-dir instead of calling a server")
	fl.StringVar(&f.keysDir, "keys-dir", defaultKeysDir(), "keys directory for --offline (env SIGIL_KEYS_DIR)")
	fl.StringVar(&f.active, "active", os.Getenv("SIGIL_KEYS_ACTIVE"), "kid that signs with --offline (env SIGIL_KEYS_ACTIVE; default the newest key)")
	fl.StringVar(&f.issuer, "issuer", os.Getenv("SIGIL_ISSUER"), "iss of an --offline token (env SIGIL_ISSUER; default http://127.0.0.1:8080)")
	fl.StringVar(&f.audience, "audience", envOr("SIGIL_AUDIENCE", config.Default().Audience), "aud of an --offline token (env SIGIL_AUDIENCE)")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseParams reads key=value pairs; values that parse as numbers or
// booleans are typed.
func parseParams(kvs []string) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--param %s given twice", k)
		}
		switch {
		case v == "true" || v == "false":
			out[k] = v == "true"
		default:
			if n, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpP_") {
				out[k] = n
			} else {
				out[k] = v
			}
		}
	}
	return out, nil
}

func mintOnline(cmd *cobra.Command, f mintFlags, params map[string]any) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
	defer cancel()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.kind == token.KindEmbed {
		if f.dashboard == "" {
			return fmt.Errorf("--dashboard is required for an embed token")
		}
		secret, err := readSecretSource(f.dashFile, "SIGIL_DASHBOARD_SECRET", "dashboard secret")
		if err != nil {
			return err
		}
		c, err := f.server.anonymous()
		if err != nil {
			return err
		}
		if f.expiry%time.Second != 0 || f.expiry < 0 {
			return fmt.Errorf("--expiry must be whole seconds")
		}
		tok, err := c.Mint(ctx, client.MintRequest{
			DashboardID: f.dashboard, DashboardSecret: secret, TokenExpiry: int64(f.expiry / time.Second),
			Params: params, Sub: f.sub,
		})
		if err != nil {
			return fmt.Errorf("mint: %w", err)
		}
		fmt.Fprintln(out, tok.AccessToken)
		fmt.Fprintf(errOut, "embed token for dashboard %s, expires %s\n", f.dashboard, tok.ExpiresAt.Format(time.RFC3339))
		return nil
	}
	if len(params) > 0 {
		return fmt.Errorf("--param is for embed tokens")
	}
	c, err := f.server.client()
	if err != nil {
		return err
	}
	req := client.CreateTokenRequest{Type: f.kind, Name: f.name, ReportID: f.report, AppID: f.app, Owner: f.sub, Scopes: f.scopes, ExpiresIn: f.expiresIn}
	if f.expiry > 0 {
		at := time.Now().Add(f.expiry).UTC().Truncate(time.Second)
		req.ExpiresAt = &at
	}
	rec, err := c.CreateToken(ctx, req)
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	fmt.Fprintln(out, rec.Token)
	exp := "never"
	if rec.ExpiresAt != nil {
		exp = rec.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(errOut, "%s token, record %s (%s), expires %s; the token is shown once\n", rec.Type, rec.ID, rec.Name, exp)
	return nil
}

func mintOffline(cmd *cobra.Command, f mintFlags, params map[string]any) error {
	ks, err := keys.LoadDir(f.keysDir)
	if err != nil {
		return err
	}
	if len(ks) == 0 {
		return fmt.Errorf("no keys in %s: run `sigil keys generate --dir %s`", f.keysDir, f.keysDir)
	}
	set, err := keys.NewSet(ks, f.active)
	if err != nil {
		return err
	}
	ring, err := keys.NewRing(func() (*keys.Set, error) { return set, nil })
	if err != nil {
		return err
	}
	iss := f.issuer
	if iss == "" {
		iss = defaultServer
	}
	c := token.Claims{Kind: f.kind, DashboardID: f.dashboard, ReportID: f.report, AppID: f.app, Params: params}
	c.Subject = f.sub
	switch f.kind {
	case token.KindEmbed:
		if f.expiry <= 0 {
			return fmt.Errorf("--expiry is required for an offline embed token")
		}
		// The claims the server's mint gives (no client: no server minted it).
		c = embed.Claims(embed.Grant{DashboardID: f.dashboard, Subject: f.sub, Params: params})
		c.ReportID, c.AppID = f.report, f.app // as given, as before
	case token.KindReport, token.KindAppView, token.KindAPI:
		// A registered kind is valid only with its record: an offline
		// token gets a record id that no server holds, so a server refuses
		// it (401) and only a verifier without the registry accepts it.
		c.TID = uuid.NewString()
	default:
		return fmt.Errorf("--type must be embed, report, app-view or api, got %q", f.kind)
	}
	if len(f.scopes) > 0 {
		c.Scope = strings.Join(f.scopes, " ")
	}
	raw, minted, err := token.NewIssuer(token.IssuerConfig{Issuer: iss, Audience: f.audience, Keys: ring}).Mint(c, f.expiry)
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), raw)
	exp := "never"
	if minted.ExpiresAt != nil {
		exp = minted.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "offline %s token signed by kid %s (iss %s, aud %s), expires %s; no server knows it\n",
		minted.Kind, ring.Active().KID, iss, f.audience, exp)
	return nil
}
