package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Mint, verify, revoke and inspect tokens",
		Example: "  sigil token mint --dashboard sales --expiry 15m\n  sigil token verify - --jwks http://127.0.0.1:8080/.well-known/jwks.json",
	}
	decode := &cobra.Command{
		Use:     "decode <jwt>",
		Short:   "Print a token's header and claims WITHOUT verifying it",
		Example: "  sigil token decode eyJhbGciOiJFZERTQSIs...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			parts := strings.Split(strings.TrimSpace(args[0]), ".")
			if len(parts) != 3 {
				return fmt.Errorf("not a compact JWT: want 3 dot-separated segments, got %d", len(parts))
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(cmd.ErrOrStderr(), "NOT VERIFIED: decoded only; the signature, expiry and revocation were not checked.")
			for i, name := range []string{"header", "claims"} {
				raw, err := base64.RawURLEncoding.DecodeString(parts[i])
				if err != nil {
					return fmt.Errorf("%s: not base64url: %w", name, err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, raw, "", "  "); err != nil {
					return fmt.Errorf("%s: not JSON: %w", name, err)
				}
				fmt.Fprintf(out, "%s:\n%s\n", name, pretty.String())
			}
			return nil
		},
	}
	cmd.AddCommand(decode, newTokenMintCmd(), newTokenVerifyCmd(), newTokenRevokeCmd())
	return cmd
}
