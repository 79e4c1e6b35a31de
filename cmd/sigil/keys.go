package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/keys"
)

func defaultKeysDir() string {
	if d := os.Getenv("SIGIL_KEYS_DIR"); d != "" {
		return d
	}
	return "keys"
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Short:   "Generate, rotate and list signing keys",
		Example: "  sigil keys generate --dir keys\n  sigil keys rotate --dir keys\n  sigil keys list --dir keys",
	}
	var dir, alg string
	gen := &cobra.Command{
		Use:     "generate",
		Short:   "Write a new private key (PEM, mode 0600) into the keys directory",
		Example: "  sigil keys generate --alg ES256 --dir keys",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signer, err := keys.Generate(alg)
			if err != nil {
				return err
			}
			path, k, err := keys.WritePEM(dir, signer)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\nalg %s\nkid %s\n", path, k.Alg, k.KID)
			return nil
		},
	}
	gen.Flags().StringVar(&alg, "alg", keys.EdDSA, "algorithm: EdDSA, ES256 or RS256")
	gen.Flags().StringVar(&dir, "dir", defaultKeysDir(), "keys directory (env SIGIL_KEYS_DIR)")

	var active string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the keys in the keys directory and which one signs",
		Example: "  sigil keys list --dir keys",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := keys.LoadDir(dir)
			if err != nil {
				return err
			}
			if len(ks) == 0 {
				return fmt.Errorf("no keys in %s: run `sigil keys generate`", dir)
			}
			set, err := keys.NewSet(ks, active)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ACTIVE\tKID\tALG\tCREATED\tFILE")
			for _, k := range set.All() {
				mark := ""
				if k.KID == set.Active().KID {
					mark = "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, k.KID, k.Alg, k.CreatedAt.UTC().Format(time.RFC3339), k.Source)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&dir, "dir", defaultKeysDir(), "keys directory (env SIGIL_KEYS_DIR)")
	list.Flags().StringVar(&active, "active", os.Getenv("SIGIL_KEYS_ACTIVE"), "kid configured as active (env SIGIL_KEYS_ACTIVE)")
	cmd.AddCommand(gen, list, newKeysRotateCmd())
	return cmd
}
