package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/keys"
)

func newKeysRotateCmd() *cobra.Command {
	var dir, alg, active string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Generate a new key and make it the signing key; older keys stay for verification",
		Long: "Write a new private key into the keys directory and make it the newest file, which is the key\n" +
			"that signs when keys.active is empty. Older keys stay in the directory (and in the JWKS), so\n" +
			"tokens they signed keep verifying until you delete them. Running servers pick the new key up\n" +
			"on SIGHUP. With keys.active set (SIGIL_KEYS_ACTIVE), it pins the old key: set it to the new kid.",
		Example: "  sigil keys rotate --dir keys && kill -HUP $(pidof sigil)\n  sigil keys rotate --alg ES256 --dir /etc/sigil/keys",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			old, err := keys.LoadDir(dir)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			var prev *keys.Set
			if len(old) > 0 {
				if prev, err = keys.NewSet(old, ""); err != nil {
					return err
				}
			}
			signer, err := keys.Generate(alg)
			if err != nil {
				return err
			}
			path, k, err := keys.WritePEM(dir, signer)
			if err != nil {
				return err
			}
			// The newest file signs: make sure no existing file looks newer
			// (a copied keys dir, a skewed clock).
			newest := time.Time{}
			for _, o := range old {
				if o.CreatedAt.After(newest) {
					newest = o.CreatedAt
				}
			}
			if fi, err := os.Stat(path); err == nil && !fi.ModTime().After(newest) {
				t := newest.Add(time.Second)
				if err := os.Chtimes(path, t, t); err != nil {
					return fmt.Errorf("make %s the newest key: %w", path, err)
				}
			}
			all, err := keys.LoadDir(dir)
			if err != nil {
				return err
			}
			set, err := keys.NewSet(all, "")
			if err != nil {
				return err
			}
			if set.Active().KID != k.KID {
				return fmt.Errorf("wrote %s but the newest key is still %s", path, set.Active().KID)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s\nalg %s\nkid %s\n", path, k.Alg, k.KID)
			if prev != nil {
				fmt.Fprintf(out, "previous %s (kept for verification)\n", prev.Active().KID)
			}
			fmt.Fprintf(out, "keys %d\n", len(set.All()))
			errOut := cmd.ErrOrStderr()
			if active != "" && active != k.KID {
				fmt.Fprintf(errOut, "keys.active (SIGIL_KEYS_ACTIVE) pins %s: set it to %s for the new key to sign.\n", active, k.KID)
			}
			fmt.Fprintln(errOut, "Send SIGHUP to running servers to load the new key.")
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", keys.EdDSA, "algorithm: EdDSA, ES256 or RS256")
	cmd.Flags().StringVar(&dir, "dir", defaultKeysDir(), "keys directory (env SIGIL_KEYS_DIR)")
	cmd.Flags().StringVar(&active, "active", os.Getenv("SIGIL_KEYS_ACTIVE"), "kid configured as active (env SIGIL_KEYS_ACTIVE), to warn when it pins the old key")
	return cmd
}
