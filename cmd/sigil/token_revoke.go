package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/pkg/client"
)

// revokeEntry is one line of a revocation list.
type revokeEntry struct {
	line  int
	value string
}

func newTokenRevokeCmd() *cobra.Command {
	var sf serverFlags
	var fromFile string
	cmd := &cobra.Command{
		Use:   "revoke [<id | jwt>...]",
		Short: "Revoke tokens on a server: registered token ids or JWTs, from arguments or a file",
		Long: "Revoke tokens on a running server with client credentials. Each entry is a registered token id\n" +
			"(DELETE /api/tokens/{id}: every JWT of the record) or a JWT (POST /api/v1/revoke, RFC 7009).\n" +
			"--from-file reads one entry per line (\"-\" for stdin; blank lines and # comments skipped) and\n" +
			"reports progress on stderr. Tokens are never printed: failures name the line and a hint.\n" +
			"A JWT the server does not recognise counts as revoked (RFC 7009 §2.2).\n" +
			"Exit status 1 if any entry failed.",
		Example: "  SIGIL_CLIENT_ID=informer SIGIL_CLIENT_SECRET=… sigil token revoke 6f1c2a9e-0b7d-4c1e-9d55-2f0e5b1c7a10\n" +
			"  sigil token revoke --from-file leaked.txt --server https://sigil.example.com",
		RunE: func(cmd *cobra.Command, args []string) error {
			entries := make([]revokeEntry, 0, len(args))
			for i, a := range args {
				entries = append(entries, revokeEntry{line: i + 1, value: strings.TrimSpace(a)})
			}
			if fromFile != "" {
				fe, err := readRevokeFile(cmd, fromFile)
				if err != nil {
					return err
				}
				entries = append(entries, fe...)
			}
			if len(entries) == 0 {
				return errors.New("nothing to revoke: give ids or JWTs, or --from-file")
			}
			c, err := sf.client()
			if err != nil {
				return err
			}
			return revokeAll(cmd, c, entries)
		},
	}
	sf.register(cmd, "")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "file of token ids or JWTs, one per line (\"-\": stdin)")
	return cmd
}

func readRevokeFile(cmd *cobra.Command, path string) ([]revokeEntry, error) {
	var r io.Reader = cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--from-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	var out []revokeEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		v := strings.TrimSpace(sc.Text())
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		out = append(out, revokeEntry{line: n, value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--from-file line %d: %w", len(out)+1, err)
	}
	return out, nil
}

// isJWT tells a compact JWT from a record id.
func isJWT(s string) bool { return strings.Count(s, ".") == 2 }

// hint names an entry in messages without showing a JWT.
func hint(s string) string {
	if !isJWT(s) {
		if len(s) > 64 {
			return fmt.Sprintf("id %q…", s[:64])
		}
		return fmt.Sprintf("id %q", s)
	}
	if len(s) < 6 {
		return "JWT"
	}
	return "JWT …" + s[len(s)-6:]
}

// revokeAll revokes entries one by one, reporting progress on stderr about
// every tenth of the way (and at the end).
func revokeAll(cmd *cobra.Command, c *client.Client, entries []revokeEntry) error {
	errOut := cmd.ErrOrStderr()
	total := len(entries)
	step := max(1, total/10)
	failed := 0
	fmt.Fprintf(errOut, "revoking %d entries on %s\n", total, c.BaseURL())
	for i, e := range entries {
		ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
		var err error
		if isJWT(e.value) {
			err = c.Revoke(ctx, e.value)
		} else {
			err = c.DeleteToken(ctx, e.value)
		}
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(errOut, "line %d (%s): %v\n", e.line, hint(e.value), err)
		}
		if done := i + 1; done%step == 0 || done == total {
			fmt.Fprintf(errOut, "progress: %d/%d (%d%%), %d failed\n", done, total, done*100/total, failed)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "revoked %d of %d\n", total-failed, total)
	if failed > 0 {
		return fmt.Errorf("%d of %d entries not revoked", failed, total)
	}
	return nil
}
