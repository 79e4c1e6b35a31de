package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/pkg/verifier"
)

func newTokenVerifyCmd() *cobra.Command {
	var jwks, issuer, audience string
	var leeway time.Duration
	cmd := &cobra.Command{
		Use:   "verify <jwt | ->",
		Short: "Verify a token offline against a server's published JWKS",
		Long: "Verify a token with sigil's verification pipeline (pkg/verifier) and the keys published at\n" +
			"--jwks, and print its claims. \"-\" reads the token from stdin (keeps it out of shell history).\n" +
			"Revocation is NOT checked: ask the server (GET /api/v1/verify) for that. Exit status 1 when the\n" +
			"token is rejected, with the reason on stderr.",
		Example: "  sigil token verify eyJhbGciOi... --jwks http://127.0.0.1:8080/.well-known/jwks.json\n" +
			"  sigil token mint --dashboard sales | sigil token verify - --jwks https://sigil.example.com/.well-known/jwks.json --issuer https://sigil.example.com",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := args[0]
			if raw == "-" {
				line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 64<<10)).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read token from stdin: %w", err)
				}
				raw = line
			}
			raw = strings.TrimSpace(raw)
			if jwks == "" {
				return errors.New("--jwks is required (e.g. http://127.0.0.1:8080/.well-known/jwks.json)")
			}
			iss := issuer
			if iss == "" {
				u, err := url.Parse(jwks)
				if err != nil || u.Host == "" {
					return fmt.Errorf("--jwks %q: not an absolute URL", jwks)
				}
				iss = u.Scheme + "://" + u.Host
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			v, err := verifier.New(ctx, verifier.Config{JWKSURL: jwks, Issuer: iss, Audience: audience, Leeway: leeway})
			if err != nil {
				return fmt.Errorf("fetch JWKS: %w", err)
			}
			claims, err := v.Verify(ctx, raw)
			if err != nil {
				if errors.Is(err, verifier.ErrInvalidToken) {
					return fmt.Errorf("token rejected: %s (issuer %s, audience %s)", verifier.Reason(err), iss, audience)
				}
				return fmt.Errorf("verify: %w", err)
			}
			b, err := json.MarshalIndent(claims, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			fmt.Fprintf(cmd.ErrOrStderr(), "VALID: signature, issuer, audience and expiry checked (kind %s); revocation not checked\n", claims.Kind)
			return nil
		},
	}
	cmd.Flags().StringVar(&jwks, "jwks", "", "URL of the server's /.well-known/jwks.json")
	cmd.Flags().StringVar(&issuer, "issuer", "", "expected iss (default: the scheme and host of --jwks)")
	cmd.Flags().StringVar(&audience, "audience", envOr("SIGIL_AUDIENCE", config.Default().Audience), "expected aud (env SIGIL_AUDIENCE)")
	cmd.Flags().DurationVar(&leeway, "leeway", 30*time.Second, "clock leeway on exp/nbf/iat (at most 5m)")
	return cmd
}
